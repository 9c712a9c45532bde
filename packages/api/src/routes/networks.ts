/**
 * `/networks/...`: list, inspect, create, remove, connect, disconnect, prune. Handlers parse and
 * pass on; core validates the bodies and answers with Docker's messages. `GET` and `DELETE` on
 * `/networks/{id}` are what `docker inspect NAME` and `network rm -f` probe, so without a network
 * service they keep answering moby's "not found".
 */
import type { DaemonServices, NetworkService } from '@tsdocker/core';
import { checkJsonContentType, decodeJsonBody, readRequestBody, requireJsonObject } from '../body.js';
import { parseFilters } from '../filters.js';
import { notFound, notSupported } from '../http-status.js';
import { sendEmpty, sendJson } from '../respond.js';
import type { HttpContext, Route } from '../router.js';
import { checkJsonStructure } from '../validation/json-body.js';

const networkId = (ctx: { params: Record<string, string> }): string => ctx.params.id ?? '';

function networks(services: DaemonServices): NetworkService {
  if (!services.networks) throw notSupported('network support is not enabled in this daemon');
  return services.networks;
}

async function jsonBody(ctx: HttpContext): Promise<unknown> {
  checkJsonContentType(ctx.req.headers);
  const body = requireJsonObject(decodeJsonBody(await readRequestBody(ctx.req), true));
  checkJsonStructure(body);
  return body;
}

export const networkRoutes: Route[] = [
  {
    method: 'GET',
    path: '/networks',
    async handle(ctx) {
      const filters = parseFilters(ctx.query.string('filters'));
      sendJson(ctx.res, 200, await networks(ctx.services).list({ filters }));
    },
  },
  {
    method: 'POST',
    path: '/networks/create',
    async handle(ctx) {
      const created = await networks(ctx.services).create(await jsonBody(ctx));
      sendJson(ctx.res, 201, created);
    },
  },
  {
    method: 'POST',
    path: '/networks/prune',
    async handle(ctx) {
      const filters = parseFilters(ctx.query.string('filters'));
      sendJson(ctx.res, 200, await networks(ctx.services).prune({ filters }));
    },
  },
  {
    method: 'POST',
    path: '/networks/{id}/connect',
    async handle(ctx) {
      await networks(ctx.services).connect(networkId(ctx), await jsonBody(ctx));
      sendEmpty(ctx.res, 200);
    },
  },
  {
    method: 'POST',
    path: '/networks/{id}/disconnect',
    async handle(ctx) {
      await networks(ctx.services).disconnect(networkId(ctx), await jsonBody(ctx));
      sendEmpty(ctx.res, 200);
    },
  },
  {
    method: 'GET',
    path: '/networks/{id}',
    async handle(ctx) {
      if (!ctx.services.networks) throw notFound(`network ${networkId(ctx)} not found`);
      sendJson(ctx.res, 200, await ctx.services.networks.inspect(networkId(ctx)));
    },
  },
  {
    method: 'DELETE',
    path: '/networks/{id}',
    async handle(ctx) {
      if (!ctx.services.networks) throw notFound(`network ${networkId(ctx)} not found`);
      await ctx.services.networks.remove(networkId(ctx));
      sendEmpty(ctx.res, 204);
    },
  },
];
