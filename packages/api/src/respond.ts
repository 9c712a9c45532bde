/**
 * Writing responses: the headers every response carries, JSON bodies, errors, and the raw
 * HTTP/1.1 text used on hijacked sockets where Node's ServerResponse is no longer in charge.
 */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import { errorResponseFor } from './http-status.js';
import { API_VERSION } from './version.js';

/** A minimal structured logger; `@tsdocker/core`'s Logger satisfies it. */
export interface ApiLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: ApiLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** moby's middleware sets these on every response; the CLI reads them from `/_ping`. */
export function standardHeaders(serverVersion: string): Record<string, string> {
  return {
    'Api-Version': API_VERSION,
    Ostype: 'linux',
    'Docker-Experimental': 'false',
    Server: `Docker/${serverVersion} (linux)`,
  };
}

/** `Content-Type` must be exactly this: the Go client only decodes error JSON on an exact match. */
export const JSON_CONTENT_TYPE = 'application/json';

/** moby's `WriteJSON`: compact JSON plus a newline. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(jsonText(value));
  res.writeHead(status, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': body.length });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  // 204 and 304 carry no Content-Length (Go's server omits it too); others say "0".
  if (status === 204 || status === 304) res.writeHead(status);
  else res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

/** Sends the error for `err` (status from http-status.ts) if the response has not started. */
export function sendError(res: ServerResponse, err: unknown, logger: ApiLogger, context: string): void {
  const { status, message, plainText } = errorResponseFor(err);
  if (status >= 500) logger.error(`handler for ${context} returned error`, { error: message });
  if (res.headersSent) {
    // Too late for a status; cutting the connection is the only honest signal left.
    res.destroy();
    return;
  }
  if (status === 304) {
    // 304 has no body (Go's server drops it too).
    sendEmpty(res, 304);
    return;
  }
  // After a refused or stalled upload the rest of the body is unread; don't reuse the connection.
  if (status === 413 || status === 408) res.setHeader('Connection', 'close');
  if (plainText) {
    const body = Buffer.from(`${message}\n`);
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Content-Length': body.length,
    });
    res.end(body);
    return;
  }
  sendJson(res, status, { message });
}

/** Formats a complete HTTP/1.1 response head (and optional body) for writing on a raw socket. */
export function formatRawResponse(
  status: number,
  reason: string | undefined,
  headers: Record<string, string | number>,
  body?: Buffer,
): Buffer {
  const lines = [`HTTP/1.1 ${status} ${reason ?? STATUS_CODES[status] ?? 'Unknown'}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body ? Buffer.concat([head, body]) : head;
}

/** The raw-socket twin of `sendError`, for failures before a hijack completes. */
export function formatRawError(
  err: unknown,
  baseHeaders: Record<string, string>,
): { status: number; bytes: Buffer } {
  const { status, message, plainText } = errorResponseFor(err);
  const body =
    status === 304 ? Buffer.alloc(0) : Buffer.from(plainText ? `${message}\n` : jsonText({ message }));
  const headers: Record<string, string | number> = { ...baseHeaders };
  if (body.length > 0) headers['Content-Type'] = plainText ? 'text/plain; charset=utf-8' : JSON_CONTENT_TYPE;
  headers['Content-Length'] = body.length;
  headers.Connection = 'close';
  return { status, bytes: formatRawResponse(status, undefined, headers, body) };
}
