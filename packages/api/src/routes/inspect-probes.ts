/**
 * Volumes and plugins don't exist in tsdocker yet, but `docker inspect NAME` probes
 * containers → images → networks → volumes → plugins and only moves on after a 404. These routes
 * answer every lookup with moby's "not found" message for that object type, so the probe (and
 * `--type network|volume`) behaves exactly as against a daemon that has none of them.
 */
import { notFound } from '../http-status.js';
import { sendEmpty } from '../respond.js';
import type { Route } from '../router.js';
import { withDefaultTag } from './images.js';

const param = (ctx: { params: Record<string, string> }, key: string): string => ctx.params[key] ?? '';

export const inspectProbeRoutes: Route[] = [
  {
    method: 'GET',
    path: '/volumes/{name}',
    async handle(ctx) {
      throw notFound(`get ${param(ctx, 'name')}: no such volume`);
    },
  },
  {
    // moby answers 204 for a missing volume when forced (`volume rm -f` relies on it).
    method: 'DELETE',
    path: '/volumes/{name}',
    async handle(ctx) {
      if (ctx.query.bool('force')) {
        sendEmpty(ctx.res, 204);
        return;
      }
      throw notFound(`get ${param(ctx, 'name')}: no such volume`);
    },
  },
  {
    method: 'GET',
    path: '/plugins/{name}/json',
    async handle(ctx) {
      throw notFound(`plugin ${JSON.stringify(withDefaultTag(param(ctx, 'name')))} not found`);
    },
  },
];
