/**
 * `/_ping`, `/version`, `/info`, and `OPTIONS` on any path (moby answers 200 for CORS preflights).
 */

import { sendEmpty, sendJson } from '../respond.js';
import type { HttpContext, Route } from '../router.js';

/** The headers the CLI reads from the ping (plus the standard ones every response carries). */
function setPingHeaders(ctx: HttpContext): void {
  ctx.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  ctx.res.setHeader('Pragma', 'no-cache');
  // "1": the legacy builder is the only one this daemon has (see CLI-FLOWS §5.15).
  ctx.res.setHeader('Builder-Version', '1');
  ctx.res.setHeader('Swarm', 'inactive');
}

export const systemRoutes: Route[] = [
  {
    method: 'GET',
    path: '/_ping',
    async handle(ctx) {
      setPingHeaders(ctx);
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
      ctx.res.end('OK');
    },
  },
  {
    method: 'HEAD',
    path: '/_ping',
    async handle(ctx) {
      setPingHeaders(ctx);
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 0 });
      ctx.res.end();
    },
  },
  {
    method: 'GET',
    path: '/version',
    async handle(ctx) {
      sendJson(ctx.res, 200, await ctx.services.system.version());
    },
  },
  {
    method: 'GET',
    path: '/info',
    async handle(ctx) {
      sendJson(ctx.res, 200, await ctx.services.system.info());
    },
  },
];

/** Registered last: it matches every path. */
export const optionsRoute: Route = {
  method: 'OPTIONS',
  path: '/{anyPath}',
  async handle(ctx) {
    sendEmpty(ctx.res, 200);
  },
};
