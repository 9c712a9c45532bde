/**
 * Starting the API on the daemon's `hosts` (`unix:///run/tsdocker.sock`, `tcp://127.0.0.1:2375`).
 * Every host is validated before anything is opened, and a failure half-way closes what was
 * already listening, so start-up either fully succeeds or leaves nothing behind.
 */

import { createServer, type Server } from 'node:http';
import type { DaemonServices } from '@tsdocker/core';
import { type ApiLogger, silentLogger } from './respond.js';
import {
  type ApiHandler,
  type ApiHandlerOptions,
  createApiHandler,
  DEFAULT_ENGINE_VERSION,
} from './server.js';
import { type BoundUnixSocket, bindUnixSocket, closeServer, listenOn } from './unix-socket.js';

export interface StartApiServerOptions {
  /** Where to listen: `unix:///absolute/path.sock` or `tcp://host:port` (see allowInsecureTcp). */
  hosts: string[];
  /** Group (name or gid) that owns unix sockets, e.g. `docker`. Skipped with a warning if missing. */
  socketGroup?: string;
  logger?: ApiLogger;
  /** Engine version for the `Server` header; defaults to `system.version().Version`. */
  version?: string;
  /**
   * Serve `tcp://` hosts without TLS. Whoever reaches the port controls the host as root, so
   * this must be asked for explicitly. (TLS with client certificates will come as its own option.)
   */
  allowInsecureTcp?: boolean;
}

export interface ApiServer {
  /** The addresses actually listened on (`tcp://…` with the real port when 0 was asked). */
  readonly addresses: string[];
  /** Stops accepting, ends every connection (hijacked ones too), removes the socket files. */
  close(): Promise<void>;
}

type HostSpec =
  | { kind: 'unix'; path: string; original: string }
  | { kind: 'tcp'; host: string; port: number; original: string };

/** Docker's default plain-TCP port. */
const DEFAULT_TCP_PORT = 2375;

export function parseHost(host: string): HostSpec {
  const invalid = (reason: string) => new Error(`invalid host ${JSON.stringify(host)}: ${reason}`);
  const scheme = /^([a-z]+):\/\//.exec(host)?.[1];
  if (scheme === 'unix') {
    const path = host.slice('unix://'.length);
    if (!path.startsWith('/')) throw invalid('a unix socket needs an absolute path (unix:///path/to.sock)');
    return { kind: 'unix', path, original: host };
  }
  if (scheme === 'tcp') {
    let url: URL;
    try {
      url = new URL(host);
    } catch {
      throw invalid('expected tcp://host:port');
    }
    if (url.pathname !== '' && url.pathname !== '/') throw invalid('a tcp address cannot have a path');
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
    const port = url.port === '' ? DEFAULT_TCP_PORT : Number(url.port);
    return { kind: 'tcp', host: hostname, port, original: host };
  }
  if (scheme === 'fd') throw invalid('socket activation (fd://) is not supported by tsdocker');
  throw invalid('expected unix:///path or tcp://host:port');
}

function createApiHttpServer(handler: ApiHandler): Server {
  // requestTimeout 0: `docker load`/`import` uploads can take longer than Node's 300 s default.
  const server = createServer({ requestTimeout: 0 });
  server.requestTimeout = 0;
  // Node's default on a client FIN mid-request is to close the connection, which is what moby
  // (Go) does too: for ordinary requests EOF means the client is gone (`docker run -d` leaving
  // its wait). Hijacked sockets leave Node's HTTP handling and stay half-open capable.
  server.on('request', handler.handleRequest);
  server.on('upgrade', handler.handleUpgrade);
  return server;
}

interface OpenListener {
  server: Server;
  handler: ApiHandler;
  address: string;
  socket?: BoundUnixSocket;
}

async function closeListener(listener: OpenListener): Promise<void> {
  const closed = closeServer(listener.server);
  listener.handler.closeHijackedConnections();
  listener.server.closeAllConnections();
  await closed;
  await listener.socket?.remove();
}

async function engineVersion(services: DaemonServices, logger: ApiLogger): Promise<string> {
  try {
    const version = (await services.system.version()).Version;
    if (typeof version === 'string' && version !== '') return version;
  } catch (err) {
    logger.warn('could not read the engine version for the Server header', { error: (err as Error).message });
  }
  return DEFAULT_ENGINE_VERSION;
}

export async function startApiServer(
  services: DaemonServices,
  opts: StartApiServerOptions,
): Promise<ApiServer> {
  const logger = opts.logger ?? silentLogger;
  if (opts.hosts.length === 0) throw new Error('no hosts to listen on');
  const specs = opts.hosts.map(parseHost);
  for (const spec of specs) {
    if (spec.kind === 'tcp' && !opts.allowInsecureTcp) {
      throw new Error(
        `refusing to listen on ${spec.original} without TLS: anyone who can reach it controls this host as root ` +
          '(TLS is not supported yet; set allowInsecureTcp to listen anyway)',
      );
    }
  }
  const version = opts.version ?? (await engineVersion(services, logger));

  const open: OpenListener[] = [];
  try {
    for (const spec of specs) {
      const handlerOptions: ApiHandlerOptions = {
        version,
        logger,
        rejectBrowserRequests: spec.kind === 'tcp',
      };
      const handler = createApiHandler(services, handlerOptions);
      const server = createApiHttpServer(handler);
      if (spec.kind === 'unix') {
        const socket = await bindUnixSocket(server, spec.path, { group: opts.socketGroup, logger });
        open.push({ server, handler, socket, address: `unix://${spec.path}` });
      } else {
        logger.warn(
          `API listening on ${spec.original} without TLS: anyone who can reach it controls this host`,
        );
        await listenOn(server, { host: spec.host, port: spec.port });
        const bound = server.address();
        const port = typeof bound === 'object' && bound !== null ? bound.port : spec.port;
        const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
        open.push({ server, handler, address: `tcp://${host}:${port}` });
      }
      server.on('error', (err) => logger.error('API server error', { error: err.message }));
    }
  } catch (err) {
    await Promise.allSettled(open.map(closeListener));
    throw err;
  }
  for (const listener of open) logger.info('API listening', { address: listener.address });

  let closing: Promise<void> | undefined;
  return {
    addresses: open.map((listener) => listener.address),
    close() {
      closing ??= Promise.all(open.map(closeListener)).then(() => undefined);
      return closing;
    },
  };
}
