/**
 * Starting the API on the daemon's `hosts` (`unix:///run/tsdocker.sock`, `tcp://127.0.0.1:2376`).
 * Every host is validated before anything is opened, and a failure half-way closes what was
 * already listening, so start-up either fully succeeds or leaves nothing behind.
 *
 * `tcp://` hosts are served only with mutual TLS (dockerd's `--tlsverify`) unless the embedder
 * explicitly accepts an unauthenticated listener (`allowInsecureTcp`), which is then logged loudly.
 */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { DaemonServices } from '@tsdocker/core';
import { clientErrorResponse } from './client-error.js';
import { type ApiLogger, silentLogger } from './respond.js';
import {
  type ApiHandler,
  type ApiHandlerOptions,
  createApiHandler,
  DEFAULT_ENGINE_VERSION,
} from './server.js';
import { type ApiTlsOptions, loadServerTls } from './tls.js';
import { type BoundUnixSocket, bindUnixSocket, closeServer, listenOn } from './unix-socket.js';

export interface StartApiServerOptions {
  /** Where to listen: `unix:///absolute/path.sock` or `tcp://host:port` (see allowInsecureTcp). */
  hosts: string[];
  /**
   * Group (name or gid) that owns unix sockets. Like dockerd, the default `docker` group may be
   * missing (a warning, the socket stays root-only); any other missing group is an error.
   */
  socketGroup?: string;
  logger?: ApiLogger;
  /** Engine version for the `Server` header; defaults to `system.version().Version`. */
  version?: string;
  /** TLS for `tcp://` hosts; with `verifyClients` it is mutual TLS, the only safe way to serve TCP. */
  tls?: ApiTlsOptions;
  /**
   * Serve `tcp://` hosts without verified client certificates (plain text, or TLS without
   * `verifyClients`). Whoever reaches the port controls the host as root, so this must be asked
   * for explicitly (dockerd's `--tls=false` / `--tlsverify=false`), and it is logged as a warning.
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

type TcpHostSpec = Extract<HostSpec, { kind: 'tcp' }>;

/** Docker's default ports: 2375 for plain TCP, 2376 with TLS. */
const DEFAULT_TCP_PORT = 2375;
const DEFAULT_TLS_PORT = 2376;

export function parseHost(host: string, opts: { tls?: boolean } = {}): HostSpec {
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
    const port = url.port === '' ? (opts.tls ? DEFAULT_TLS_PORT : DEFAULT_TCP_PORT) : Number(url.port);
    return { kind: 'tcp', host: hostname, port, original: host };
  }
  if (scheme === 'fd') throw invalid('socket activation (fd://) is not supported by tsdocker');
  throw invalid('expected unix:///path or tcp://host:port');
}

/** How long a connection lingers after the answer to a malformed request before it is cut. */
const CLIENT_ERROR_LINGER_MS = 2_000;

/** The API's request hygiene, shared by the plain and the TLS server. */
function configureServer(server: Server, handler: ApiHandler, logger: ApiLogger): Server {
  // requestTimeout 0: `docker load`/`import` uploads can take longer than Node's 300 s default.
  // Slow clients are still bounded: headers must arrive within headersTimeout (60 s), and JSON
  // bodies have their own idle timeout (body.ts).
  server.requestTimeout = 0;
  // Node's default on a client FIN mid-request is to close the connection, which is what moby
  // (Go) does too: for ordinary requests EOF means the client is gone (`docker run -d` leaving
  // its wait). Hijacked sockets leave Node's HTTP handling and stay half-open capable.
  server.on('request', handler.handleRequest);
  server.on('upgrade', handler.handleUpgrade);
  // Node hands CONNECT to a 'connect' listener or drops the connection; moby answers 404.
  server.on('connect', (_req: unknown, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(
      clientErrorResponse(
        Object.assign(new Error('page not found'), { code: 'NOT_FOUND' }),
        handler.baseHeaders,
      ),
    );
  });
  // Requests Node's parser refuses (bad chunking, bad method, oversized headers) still get an
  // answer in Docker's error shape rather than Node's bare `400 Bad Request`.
  const answered = new WeakSet<Socket>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // The broken parser keeps reporting while the connection lingers: answer once.
    if (answered.has(socket)) return;
    answered.add(socket);
    logger.debug('malformed request', { error: err.message, code: err.code });
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    lingeringClose(socket, clientErrorResponse(err, handler.baseHeaders));
  });
  // Connections that close after an answer (HTTP/1.0, `Connection: close`, a 413) while the
  // client is still sending its body: Node would destroy the socket as soon as the answer is
  // out, which resets a client that is still writing and takes the unread answer with it.
  const lastRequest = new WeakMap<Socket, IncomingMessage>();
  server.prependListener('request', (req: IncomingMessage) => {
    const socket = req.socket as Socket;
    if (!lastRequest.has(socket)) {
      const destroySoon = socket.destroySoon.bind(socket);
      socket.destroySoon = () => {
        const last = lastRequest.get(socket);
        if (last && !last.complete && socket.writable) lingeringClose(socket);
        else destroySoon();
      };
    }
    lastRequest.set(socket, req);
  });
  return server;
}

/**
 * A lingering close, as Go's server does: send what is left and FIN, but keep reading (and
 * dropping) what the client is still sending for a moment, so that it reads the answer instead
 * of failing its write with EPIPE. Then the socket goes, whatever the client does.
 */
function lingeringClose(socket: Socket, last?: Buffer): void {
  let flushed = false;
  let clientDone = false;
  const closeWhenBothDone = () => {
    if (flushed && clientDone) socket.destroy();
  };
  const onFlushed = () => {
    flushed = true;
    closeWhenBothDone();
  };
  if (last) socket.end(last, onFlushed);
  else socket.end(onFlushed);
  socket.once('end', () => {
    clientDone = true;
    closeWhenBothDone();
  });
  setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
}

function createApiHttpServer(
  handler: ApiHandler,
  logger: ApiLogger,
  tls?: Awaited<ReturnType<typeof loadServerTls>>,
): Server {
  if (!tls) return configureServer(createServer({ requestTimeout: 0 }), handler, logger);
  // allowHalfOpen as Node's plain HTTP server has it: a hijacked client closes its sending side
  // (a TLS close_notify from Go's CloseWrite) when it has no stdin, and the output must still flow.
  const server = createHttpsServer({ ...tls, requestTimeout: 0, allowHalfOpen: true });
  // A failed handshake (no client certificate, one from another CA) never reaches HTTP.
  server.on('tlsClientError', (err) => logger.info('TLS handshake refused', { error: err.message }));
  return configureServer(server, handler, logger);
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Refuses, before anything listens, a TCP host whose clients would not be authenticated. */
function checkTcpHost(spec: TcpHostSpec, opts: StartApiServerOptions): void {
  if (opts.tls?.verifyClients || opts.allowInsecureTcp) return;
  const risk = 'anyone who can reach it controls this host as root';
  if (opts.tls) {
    throw new Error(
      `refusing to listen on ${spec.original} with TLS but without client certificate verification: ${risk} ` +
        '(use --tlsverify with --tlscacert, or pass --tlsverify=false to accept that explicitly)',
    );
  }
  throw new Error(
    `refusing to listen on ${spec.original} without TLS: ${risk} ` +
      '(use --tlsverify --tlscacert --tlscert --tlskey, or pass --tls=false to listen in plain text anyway)',
  );
}

/** dockerd's warnings for an unauthenticated TCP listener, one per line so none is missed. */
function warnInsecure(logger: ApiLogger, spec: TcpHostSpec, encrypted: boolean): void {
  const host = spec.original;
  logger.warn(
    `Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network.`,
    { host },
  );
  logger.warn(
    'Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there!',
    { host },
  );
  logger.warn(
    encrypted
      ? 'API listening with TLS but WITHOUT client certificate verification: any client is accepted'
      : 'API listening in PLAIN TEXT without authentication: any client is accepted',
    { host },
  );
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
  const specs = opts.hosts.map((host) => parseHost(host, { tls: opts.tls !== undefined }));
  for (const spec of specs) if (spec.kind === 'tcp') checkTcpHost(spec, opts);
  // Loaded even without a tcp:// host, so a misconfigured TLS setup fails at start, as in dockerd.
  const tls = opts.tls ? await loadServerTls(opts.tls) : undefined;
  const version = opts.version ?? (await engineVersion(services, logger));

  const open: OpenListener[] = [];
  try {
    for (const spec of specs) {
      const handlerOptions: ApiHandlerOptions = {
        version,
        logger,
        rejectBrowserRequests: spec.kind === 'tcp',
        // DNS rebinding: a web page on evil.example resolving to 127.0.0.1 still sends its Host.
        // (With client certificates a browser cannot get in anyway, and a tunnel may forward a
        // real host name to a loopback listener, so mutual TLS listeners take any Host.)
        requireLocalHost: spec.kind === 'tcp' && isLoopbackHost(spec.host) && !opts.tls?.verifyClients,
      };
      const handler = createApiHandler(services, handlerOptions);
      const server = createApiHttpServer(handler, logger, spec.kind === 'tcp' ? tls : undefined);
      if (spec.kind === 'unix') {
        const socket = await bindUnixSocket(server, spec.path, { group: opts.socketGroup, logger });
        open.push({ server, handler, socket, address: `unix://${spec.path}` });
      } else {
        if (!opts.tls?.verifyClients) warnInsecure(logger, spec, tls !== undefined);
        await listenOn(server, { host: spec.host, port: spec.port });
        const bound = server.address();
        const port = typeof bound === 'object' && bound !== null ? bound.port : spec.port;
        const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
        open.push({ server, handler, address: `tcp://${host}:${port}` });
        if (opts.tls?.verifyClients) logger.info('API requires client certificates', { host: spec.original });
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
