/**
 * Engine API endpoints that common docker commands call but tsdocker does not serve yet. They
 * answer 501 with a sentence naming the feature, instead of a bare "page not found", so
 * `docker stats`, `docker build`… fail with a message a user can act on.
 */
import { notSupported } from '../http-status.js';
import type { Route } from '../router.js';

const unimplemented: Array<[method: string, path: string, feature: string]> = [
  ['GET', '/containers/{name}/stats', 'container stats'],
  ['POST', '/containers/{name}/update', 'container update'],
  ['POST', '/containers/prune', 'container prune'],
  ['GET', '/events', 'the event stream (docker events, docker stats)'],
  ['GET', '/system/df', 'docker system df'],
  ['POST', '/auth', 'registry login'],
  ['POST', '/build', 'docker build'],
  ['POST', '/build/prune', 'build cache prune'],
  ['GET', '/images/search', 'docker search'],
  ['POST', '/images/prune', 'image prune'],
  ['POST', '/images/{name}/push', 'docker push'],
  ['GET', '/volumes', 'volume support'],
  ['POST', '/volumes/create', 'volume support'],
  ['POST', '/volumes/prune', 'volume support'],
  ['GET', '/plugins', 'plugin support'],
];

export const unimplementedRoutes: Route[] = unimplemented.map(([method, path, feature]) => ({
  method,
  path,
  async handle() {
    throw notSupported(`${feature} is not implemented by tsdocker yet`);
  },
}));
