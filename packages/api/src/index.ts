/**
 * `@tsdocker/api`: the Docker Engine API 1.50 over `node:http`, served from a `DaemonServices`.
 *
 * - `startApiServer(services, { hosts })` listens on unix sockets (0660, optional group) and on
 *   TCP with mutual TLS (`tls.verifyClients`), or unauthenticated TCP when explicitly allowed.
 * - `createApiHandler(services)` gives the request and upgrade handlers alone, to mount on any
 *   `node:http` server (or to test without sockets).
 */

export { parseFilters } from './filters.js';
export type { ErrorResponse } from './http-status.js';
export { ApiError, errorResponseFor, statusForKind } from './http-status.js';
export type { ApiServer, StartApiServerOptions } from './listen.js';
export { parseHost, startApiServer } from './listen.js';
export type { ApiLogger } from './respond.js';
export type { ApiHandler, ApiHandlerOptions } from './server.js';
export { allRoutes, createApiHandler, DEFAULT_ENGINE_VERSION } from './server.js';
export {
  decodeFrames,
  encodeFrame,
  MEDIA_TYPE_MULTIPLEXED_STREAM,
  MEDIA_TYPE_RAW_STREAM,
  StreamId,
} from './stdcopy.js';
export type { ApiTlsOptions } from './tls.js';
export { loadServerTls } from './tls.js';
export { DEFAULT_SOCKET_GROUP } from './unix-socket.js';
export { API_VERSION, compareApiVersions, MIN_API_VERSION } from './version.js';
