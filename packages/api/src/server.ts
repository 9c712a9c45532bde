/**
 * The request and upgrade handlers: route, check the API version, run the handler, turn errors
 * into Docker-shaped responses. Sockets are someone else's business (listen.ts), so this can be
 * mounted on any `node:http` server — or driven directly in tests.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DaemonServices } from '@tsdocker/core';
import { PlainConnection, UpgradeConnection } from './hijack.js';
import { ApiError } from './http-status.js';
import { Query } from './query.js';
import { type ApiLogger, sendError, silentLogger, standardHeaders } from './respond.js';
import { parseRequestTarget, type Route, Router } from './router.js';
import { containerRoutes } from './routes/containers.js';
import { execRoutes } from './routes/exec.js';
import { imageRoutes } from './routes/images.js';
import { inspectProbeRoutes } from './routes/inspect-probes.js';
import { networkRoutes } from './routes/networks.js';
import { optionsRoute, systemRoutes } from './routes/system.js';
import { unimplementedRoutes } from './routes/unimplemented.js';
import { discardUnreadBody } from './unread-body.js';
import { resolveApiVersion } from './version.js';

/** The engine version reported in `Server` when the embedder doesn't say. */
export const DEFAULT_ENGINE_VERSION = '0.1.0';

export interface ApiHandlerOptions {
  /** Engine version for the `Server: Docker/<version> (linux)` header. */
  version?: string;
  logger?: ApiLogger;
  /**
   * Refuse requests that carry an `Origin` header (403). Browsers add it to cross-site requests,
   * and no Docker client sends it: on a TCP listener this blocks web pages from driving the API.
   */
  rejectBrowserRequests?: boolean;
  /**
   * Refuse requests whose `Host` names anything but an IP address or `localhost` (403). On a
   * loopback listener this defeats DNS rebinding: a page on a hostile name that resolves to
   * 127.0.0.1 still sends its own name as Host.
   */
  requireLocalHost?: boolean;
}

export interface ApiHandler {
  /** For `server.on('request')`. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** For `server.on('upgrade')`: attach and exec start hijack the connection. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Cuts every hijacked connection this handler owns (Node's server no longer tracks them). */
  closeHijackedConnections(): void;
  /** How many hijacked connections are open. */
  readonly hijackedConnections: number;
  /** The headers every response carries (for answers written outside the handlers). */
  readonly baseHeaders: Record<string, string>;
}

/** Every route, in matching order (the fuzz test walks this list). */
export const allRoutes: readonly Route[] = [
  ...systemRoutes,
  ...containerRoutes,
  ...execRoutes,
  ...imageRoutes,
  ...networkRoutes,
  ...inspectProbeRoutes,
  ...unimplementedRoutes,
  optionsRoute,
];

const pageNotFound = () => new ApiError(404, 'page not found');

/** `127.0.0.1:2376`, `[::1]:2376`, `localhost`, `api.moby.localhost` (what Go clients send). */
export function isLocalHostHeader(value: string): boolean {
  const host = value.startsWith('[') ? value.slice(1, value.indexOf(']')) : value.replace(/:\d*$/, '');
  const name = host.toLowerCase();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name) || (name.includes(':') && /^[0-9a-f:.]+$/.test(name))) return true;
  return name === 'localhost' || name.endsWith('.localhost');
}

export function createApiHandler(services: DaemonServices, options: ApiHandlerOptions = {}): ApiHandler {
  const logger = options.logger ?? silentLogger;
  const baseHeaders = standardHeaders(options.version ?? DEFAULT_ENGINE_VERSION);
  const router = new Router([...allRoutes]);
  const hijacked = new Set<UpgradeConnection>();

  /** Everything before the handler runs; throws the error to send. */
  function resolve(req: IncomingMessage) {
    if (options.rejectBrowserRequests && req.headers.origin !== undefined) {
      throw new ApiError(403, 'requests from web browsers are not accepted on this socket');
    }
    const host = req.headers.host;
    if (options.requireLocalHost && host !== undefined && !isLocalHostHeader(host)) {
      throw new ApiError(403, `requests for host ${JSON.stringify(host)} are not accepted on this socket`);
    }
    const target = parseRequestTarget(req.url ?? '/');
    const match = router.match(req.method ?? 'GET', target.path);
    // moby matches the route first: an unknown path is 404 whatever the version says.
    if (!match) throw pageNotFound();
    const apiVersion = resolveApiVersion(target.version);
    return { match, apiVersion, query: new Query(target.search) };
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    for (const [name, value] of Object.entries(baseHeaders)) res.setHeader(name, value);
    const context = `${req.method} ${req.url}`;
    const run = async () => {
      const { match, apiVersion, query } = resolve(req);
      const base = { services, params: match.params, query, apiVersion, req, logger };
      const { route } = match;
      if ('stream' in route) {
        const conn = new PlainConnection(req, res, logger, context);
        await runStreamRoute(route, { ...base, conn }, conn);
      } else {
        await route.handle({ ...base, res });
      }
    };
    run().catch((err: unknown) => {
      sendError(res, err, logger, context);
      discardUnreadBody(req, res);
    });
  }

  async function runStreamRoute(
    route: Extract<Route, { stream: unknown }>,
    ctx: Parameters<Extract<Route, { stream: unknown }>['stream']>[0],
    conn: PlainConnection | UpgradeConnection,
  ): Promise<void> {
    try {
      await route.stream(ctx);
    } catch (err) {
      if (!conn.started) {
        conn.fail(err);
        return;
      }
      // The stream already began: there is no status left to send.
      logger.warn('stream failed after it started', {
        error: err instanceof Error ? err.message : String(err),
      });
      conn.end();
    }
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const conn = new UpgradeConnection(req, socket, head, baseHeaders, logger);
    hijacked.add(conn);
    socket.once('close', () => hijacked.delete(conn));
    const run = async () => {
      const { match, apiVersion, query } = resolve(req);
      if (!('stream' in match.route)) {
        // Only attach and exec start can take over a connection.
        throw new ApiError(
          400,
          `${req.method} ${match.route.path} cannot be used with "Upgrade: ${req.headers.upgrade}"`,
        );
      }
      await runStreamRoute(
        match.route,
        { services, params: match.params, query, apiVersion, req, logger, conn },
        conn,
      );
    };
    run().catch((err: unknown) => {
      if (!conn.started) conn.fail(err);
      else conn.end();
    });
  }

  return {
    handleRequest,
    handleUpgrade,
    closeHijackedConnections() {
      for (const conn of hijacked) conn.destroy();
      hijacked.clear();
    },
    get hijackedConnections() {
      return hijacked.size;
    },
    baseHeaders,
  };
}
