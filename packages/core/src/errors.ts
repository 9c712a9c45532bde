/**
 * The one error type that crosses package boundaries. Each error has a kind from a closed set;
 * the API maps kinds to HTTP statuses in exactly one place (`@tsdocker/api`'s http-status.ts).
 *
 * A `Symbol.for` marker (not `instanceof`) identifies it, so the check still works when two
 * copies of `@tsdocker/core` are installed (a driver built against another copy).
 */
export type ErrorKind =
  | 'not-found'
  | 'invalid-argument'
  | 'conflict'
  | 'already-exists'
  | 'not-supported'
  | 'unavailable'
  | 'forbidden'
  | 'not-modified'
  | 'cancelled'
  | 'internal';

const marker = Symbol.for('tsdocker.error');

export class TsdockerError extends Error {
  /** Read by `is()` through `marker in err`; public so any copy of core can see it. */
  readonly [marker] = true;
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TsdockerError';
    this.kind = kind;
  }

  /** True for any TsdockerError (from any installed copy), optionally of the given kind. */
  static is(err: unknown, kind?: ErrorKind): err is TsdockerError {
    if (typeof err !== 'object' || err === null || !(marker in err)) return false;
    return kind === undefined || (err as unknown as TsdockerError).kind === kind;
  }
}

export const notFound = (message: string, cause?: unknown) =>
  new TsdockerError('not-found', message, { cause });
export const invalidArgument = (message: string, cause?: unknown) =>
  new TsdockerError('invalid-argument', message, { cause });
export const conflict = (message: string, cause?: unknown) =>
  new TsdockerError('conflict', message, { cause });
export const alreadyExists = (message: string, cause?: unknown) =>
  new TsdockerError('already-exists', message, { cause });
export const notSupported = (message: string, cause?: unknown) =>
  new TsdockerError('not-supported', message, { cause });
export const unavailable = (message: string, cause?: unknown) =>
  new TsdockerError('unavailable', message, { cause });
export const forbidden = (message: string, cause?: unknown) =>
  new TsdockerError('forbidden', message, { cause });
export const notModified = (message: string) => new TsdockerError('not-modified', message);
export const cancelled = (message: string) => new TsdockerError('cancelled', message);
export const internal = (message: string, cause?: unknown) =>
  new TsdockerError('internal', message, { cause });
