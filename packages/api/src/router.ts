/**
 * Path routing. Routes are declared as `/containers/{name}/json`; a `{param}` matches one or more
 * characters *including slashes* (moby's `{name:.*}`), because image references go into the path
 * unescaped (`/images/myrepo/bb:v1/json`). Routes are tried in declaration order, so fixed paths
 * (`/images/json`, `/images/create`) are listed before the parameterised ones, and a greedy
 * parameter takes the longest prefix that still leaves the route's suffix (`/json`, `/tag`, …).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DaemonServices } from '@tsdocker/core';
import type { StreamConnection } from './hijack.js';
import { ApiError } from './http-status.js';
import type { Query } from './query.js';
import type { ApiLogger } from './respond.js';

export interface RequestContext {
  services: DaemonServices;
  params: Record<string, string>;
  query: Query;
  /** The API version the request is served at (from the path, else the newest). */
  apiVersion: string;
  req: IncomingMessage;
  logger: ApiLogger;
}

export interface HttpContext extends RequestContext {
  res: ServerResponse;
}

export interface StreamContext extends RequestContext {
  conn: StreamConnection;
}

export type Route =
  | { method: string; path: string; handle: (ctx: HttpContext) => Promise<void> }
  /** Attach and exec start: served both hijacked (101) and as a plain streaming POST. */
  | { method: string; path: string; stream: (ctx: StreamContext) => Promise<void> };

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  paramNames: string[];
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(routes: Route[]) {
    this.compiled = routes.map(compile);
  }

  match(method: string, path: string): RouteMatch | undefined {
    for (const { route, pattern, paramNames } of this.compiled) {
      if (route.method !== method) continue;
      const found = pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      paramNames.forEach((name, i) => {
        params[name] = found[i + 1] ?? '';
      });
      return { route, params };
    }
    // A known path with the wrong method is "page not found" too, as in moby.
    return undefined;
  }
}

function compile(route: Route): CompiledRoute {
  const paramNames: string[] = [];
  const source = route.path
    .split(/(\{[a-zA-Z]+\})/)
    .map((part) => {
      const param = /^\{([a-zA-Z]+)\}$/.exec(part);
      if (param?.[1]) {
        paramNames.push(param[1]);
        return '(.+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { route, pattern: new RegExp(`^${source}$`), paramNames };
}

export interface ParsedTarget {
  /** The version from a `/vX.Y` prefix, if any. */
  version: string | undefined;
  /** The decoded path without the version prefix. */
  path: string;
  /** The raw query string (without `?`). */
  search: string;
}

/** Splits `/v1.50/containers/json?all=1` into version, decoded path and query. */
export function parseRequestTarget(url: string): ParsedTarget {
  const queryStart = url.indexOf('?');
  const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
  const search = queryStart === -1 ? '' : url.slice(queryStart + 1);
  let path: string;
  try {
    // Decode like Go's URL parser does before mux matching (`%2F` becomes `/`).
    path = decodeURIComponent(rawPath);
  } catch {
    throw new ApiError(400, `invalid URL escape in ${JSON.stringify(rawPath)}`);
  }
  const versioned = /^\/v([0-9.]+)(\/.*)$/.exec(path);
  if (versioned) return { version: versioned[1], path: versioned[2] ?? '/', search };
  return { version: undefined, path, search };
}
