/**
 * Connection hijacking for attach and exec start: an HTTP request with `Upgrade: tcp` on a fresh
 * connection; after the daemon's 101 the socket carries container output one way and stdin the
 * other. Bytes that arrived together with the 101 are put back in front of the socket's data.
 */
import { request } from 'node:http';
import type { Socket } from 'node:net';
import type { DaemonHost } from '../host.js';
import { connectionErrorFrom, DaemonError } from './errors.js';
import { connectionOptions, displayUrl, errorFromResponse } from './transport.js';

export interface HijackRequest {
  method: string;
  /** Full path including version prefix and query. */
  path: string;
  /** JSON body (exec start); attach sends none. */
  json?: unknown;
}

export function openHijackedConnection(host: DaemonHost, req: HijackRequest): Promise<Socket> {
  const base = connectionOptions(host);
  const body = req.json === undefined ? Buffer.alloc(0) : Buffer.from(`${JSON.stringify(req.json)}\n`);
  return new Promise<Socket>((resolve, reject) => {
    const clientRequest = request({
      ...base,
      method: req.method,
      path: req.path,
      headers: {
        ...base.headers,
        Connection: 'Upgrade',
        Upgrade: 'tcp',
        'Content-Type': req.json === undefined ? 'text/plain' : 'application/json',
        'Content-Length': String(body.length),
      },
    });
    clientRequest.once('upgrade', (_res, socket: Socket, head: Buffer) => {
      socket.setNoDelay(true);
      socket.setTimeout(0);
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    clientRequest.once('response', (res) => {
      // Anything but a 101 means the hijack failed. Show the daemon's message when it gave one
      // (moby answers e.g. a 404 JSON error before upgrading); docker's own fallback otherwise.
      errorFromResponse(res, displayUrl(host, req.path)).then((err) => {
        reject(
          err.daemonMessage !== ''
            ? err
            : new DaemonError(err.statusCode, '', `unable to upgrade to tcp, received ${err.statusCode}`),
        );
      }, reject);
    });
    clientRequest.once('error', (err: NodeJS.ErrnoException) => reject(connectionErrorFrom(err, host)));
    clientRequest.end(body);
  });
}
