/**
 * JSON request bodies: size cap, Content-Type check and decoding with moby's messages
 * (`httputils.CheckForJSON` / `ReadJSON`). Streamed bodies (import, load, build) never come here.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { ApiError, invalidArgument } from './http-status.js';

/** JSON bodies larger than this are refused with 413 instead of being buffered. */
export const MAX_JSON_BODY_BYTES = 4 * 1024 * 1024;

/**
 * How long a JSON body may go without a byte arriving. A client that declares a body and then
 * stalls would otherwise hold its connection (and the handler waiting for it) forever.
 */
export const BODY_IDLE_TIMEOUT_MS = 60_000;

export function bodyIdleTimeout(): ApiError {
  return new ApiError(408, 'timed out waiting for the rest of the request body');
}

export function bodyTooLarge(limit: number): ApiError {
  return new ApiError(413, `request body is too large: JSON bodies are limited to ${limit} bytes`);
}

/** The declared Content-Length, undefined when absent; throws on a malformed header. */
export function declaredContentLength(headers: IncomingHttpHeaders): number | undefined {
  const raw = headers['content-length'];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new ApiError(400, `invalid Content-Length header: ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  return (declaredContentLength(headers) ?? 0) > 0;
}

/** Empty Content-Type is fine without a body; otherwise the media type must be application/json. */
export function checkJsonContentType(headers: IncomingHttpHeaders): void {
  const contentType = headers['content-type'] ?? '';
  if (contentType === '' && !hasRequestBody(headers)) return;
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(mediaType)) {
    throw invalidArgument(`malformed Content-Type header (${contentType}): mime: no media type`);
  }
  if (mediaType !== 'application/json') {
    throw invalidArgument(`unsupported Content-Type header (${contentType}): must be 'application/json'`);
  }
}

/** Reads a whole request body, refusing (413) anything over `limit` without buffering it. */
export function readRequestBody(
  req: IncomingMessage,
  limit = MAX_JSON_BODY_BYTES,
  idleTimeoutMs = BODY_IDLE_TIMEOUT_MS,
): Promise<Buffer> {
  let declared: number | undefined;
  try {
    declared = declaredContentLength(req.headers);
  } catch (err) {
    return Promise.reject(err);
  }
  if (declared !== undefined && declared > limit) return Promise.reject(bodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let timer: NodeJS.Timeout | undefined;
    const armTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        cleanup();
        reject(bodyIdleTimeout());
      }, idleTimeoutMs);
      timer.unref();
    };
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      armTimer();
      total += chunk.length;
      if (total > limit) {
        cleanup();
        // Discard the rest as it arrives; the 413 closes the connection.
        req.resume();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(new Error('client closed the connection while sending the request body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    if (req.readableEnded) onEnd();
    else armTimer();
  });
}

/**
 * Decodes a JSON body. Empty bodies give undefined unless `required` (then moby's EOF message).
 * JSON.parse already refuses trailing content, which moby reports as "unexpected content after JSON".
 */
export function decodeJsonBody(bytes: Buffer, required: boolean): unknown {
  const text = bytes.toString('utf8');
  if (text.trim() === '') {
    if (required) throw invalidArgument('invalid JSON: got EOF while reading request body');
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
  }
}

/** Content-Type check, bounded read and decode in one step, for ordinary JSON endpoints. */
export async function readJsonBody(req: IncomingMessage, required: boolean): Promise<unknown> {
  checkJsonContentType(req.headers);
  return decodeJsonBody(await readRequestBody(req), required);
}

/** Narrows a decoded body to a JSON object (what every Docker endpoint expects). */
export function requireJsonObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidArgument('invalid JSON: the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
