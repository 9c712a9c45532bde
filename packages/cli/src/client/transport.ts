/** The low level shared by ordinary and hijacked requests: where to connect and reading bodies. */
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { DaemonHost } from '../host.js';
import { USER_AGENT } from '../version.js';
import { type DaemonError, daemonErrorFromBody } from './errors.js';

/** Docker sends this Host for unix sockets; the daemon ignores it. */
const UNIX_HOST_HEADER = 'api.moby.localhost';

/** Connection fields of `http.request` options for a daemon address. Each request gets its own connection. */
export function connectionOptions(host: DaemonHost): RequestOptions {
  if (host.kind === 'unix') {
    return {
      socketPath: host.socketPath,
      agent: false,
      headers: { Host: UNIX_HOST_HEADER, 'User-Agent': USER_AGENT },
    };
  }
  return { host: host.hostname, port: host.port, agent: false, headers: { 'User-Agent': USER_AGENT } };
}

/** A URL for messages, shaped like the Go client's (`http://%2Frun%2Ftsdocker.sock/v1.50/...`). */
export function displayUrl(host: DaemonHost, path: string): string {
  if (host.kind === 'unix') return `http://${encodeURIComponent(host.socketPath)}${path}`;
  return `http://${host.hostname.includes(':') ? `[${host.hostname}]` : host.hostname}:${host.port}${path}`;
}

export async function readBody(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads an error response and turns it into a DaemonError. */
export async function errorFromResponse(res: IncomingMessage, requestUrl: string): Promise<DaemonError> {
  let body: Buffer;
  try {
    body = await readBody(res);
  } catch {
    body = Buffer.alloc(0);
  }
  return daemonErrorFromBody(res.statusCode ?? 500, res.headers['content-type'], body, requestUrl);
}
