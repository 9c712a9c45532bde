/**
 * The one place that decides HTTP statuses. Core throws TsdockerErrors with a kind; this file maps
 * kinds to statuses the way moby's `httpstatus.FromError` maps errdefs classes. Errors that exist
 * only at the HTTP layer (unknown route, body too large, API version out of range) are ApiErrors
 * that carry their status explicitly, and are also resolved here.
 */
import { type ErrorKind, TsdockerError } from '@tsdocker/core';

/** Same table as moby `daemon/server/httpstatus/status.go`. */
const statusByKind: Record<ErrorKind, number> = {
  'not-found': 404,
  'invalid-argument': 400,
  conflict: 409,
  'already-exists': 409,
  // errdefs.NotImplemented -> 501.
  'not-supported': 501,
  unavailable: 503,
  forbidden: 403,
  'not-modified': 304,
  // moby groups Canceled with Internal/DataLoss/DeadlineExceeded -> 500 (there is no 499 in moby).
  cancelled: 500,
  internal: 500,
};

/** An error that only exists at the HTTP layer, with its status decided where it is thrown. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Send the message as `text/plain` instead of JSON (moby does this for pre-1.24 clients). */
    readonly plainText = false,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function statusForKind(kind: ErrorKind): number {
  return statusByKind[kind];
}

export interface ErrorResponse {
  status: number;
  message: string;
  plainText: boolean;
}

/** Resolves any thrown value to the status and message the client sees. Unknown errors are 500. */
export function errorResponseFor(err: unknown): ErrorResponse {
  if (err instanceof ApiError) return { status: err.status, message: err.message, plainText: err.plainText };
  if (TsdockerError.is(err))
    return { status: statusForKind(err.kind), message: err.message, plainText: false };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, message: message || 'internal server error', plainText: false };
}

/** `TsdockerError` constructors for the API's own validation failures. */
export const invalidArgument = (message: string): TsdockerError =>
  new TsdockerError('invalid-argument', message);
export const notFound = (message: string): TsdockerError => new TsdockerError('not-found', message);
export const notSupported = (message: string): TsdockerError => new TsdockerError('not-supported', message);
