/**
 * Engine API endpoints that common docker commands call but tsdocker does not serve yet. They
 * answer 501 with a sentence naming the feature, instead of a bare "page not found", so
 * `docker load`, `docker stats`, `docker cp`… fail with a message a user can act on.
 */
import { notSupported } from '../http-status.js';
import type { Route } from '../router.js';

const unimplemented: Array<[method: string, path: string, feature: string]> = [
  ['GET', '/containers/{name}/changes', 'container diff (GET /containers/{id}/changes)'],
  ['GET', '/containers/{name}/export', 'container export'],
  ['GET', '/containers/{name}/stats', 'container stats'],
  ['POST', '/containers/{name}/update', 'container update'],
  ['GET', '/containers/{name}/archive', 'copying files out of containers (docker cp)'],
  ['HEAD', '/containers/{name}/archive', 'copying files to and from containers (docker cp)'],
  ['PUT', '/containers/{name}/archive', 'copying files into containers (docker cp)'],
  ['POST', '/containers/prune', 'container prune'],
  ['POST', '/commit', 'docker commit'],
  ['GET', '/events', 'the event stream (docker events, docker stats)'],
  ['GET', '/system/df', 'docker system df'],
  ['POST', '/auth', 'registry login'],
  ['POST', '/build', 'docker build'],
  ['POST', '/build/prune', 'build cache prune'],
  ['GET', '/images/get', 'docker save'],
  ['GET', '/images/search', 'docker search'],
  ['POST', '/images/load', 'docker load'],
  ['POST', '/images/prune', 'image prune'],
  ['GET', '/images/{name}/get', 'docker save'],
  ['POST', '/images/{name}/push', 'docker push'],
  ['GET', '/networks', 'network support'],
  ['POST', '/networks/create', 'network support'],
  ['POST', '/networks/prune', 'network support'],
  ['POST', '/networks/{id}/connect', 'network support'],
  ['POST', '/networks/{id}/disconnect', 'network support'],
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
