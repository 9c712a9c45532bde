/** Errors from talking to the daemon, worded like the docker CLI's. */
import { STATUS_CODES } from 'node:http';
import type { DaemonHost } from '../host.js';

/** The daemon answered with an error status. `message` is what the CLI prints. */
export class DaemonError extends Error {
  readonly statusCode: number;
  /** The daemon's own text (what follows `Error response from daemon: `). */
  readonly daemonMessage: string;

  constructor(
    statusCode: number,
    daemonMessage: string,
    message = `Error response from daemon: ${daemonMessage}`,
  ) {
    super(message);
    this.name = 'DaemonError';
    this.statusCode = statusCode;
    this.daemonMessage = daemonMessage;
  }

  get isNotFound(): boolean {
    return this.statusCode === 404;
  }
}

/** The daemon could not be reached at all. */
export class ConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

/**
 * Builds the error for a non-2xx/3xx response the way the moby client does: the body is JSON only
 * when Content-Type is exactly `application/json`; otherwise the trimmed text is the message.
 */
export function daemonErrorFromBody(
  statusCode: number,
  contentType: string | undefined,
  body: Buffer,
  requestUrl: string,
): DaemonError {
  const statusText = `${statusCode} ${STATUS_CODES[statusCode] ?? ''}`.trim();
  if (body.length === 0) {
    return new DaemonError(
      statusCode,
      '',
      `request returned ${statusText} for API route and version ${requestUrl}, check if the server supports the requested API version`,
    );
  }
  let message: string | undefined;
  if (contentType === 'application/json') {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown };
      message = typeof parsed?.message === 'string' ? parsed.message : '';
    } catch {
      message = undefined;
    }
  }
  if (message === undefined) message = body.toString('utf8').trim();
  if (message === '') {
    message = `API returned a ${statusCode} (${STATUS_CODES[statusCode] ?? 'Unknown'}) but provided no error-message`;
  }
  return new DaemonError(statusCode, message);
}

/** Turns a socket-level failure into docker's "Cannot connect" wording. */
export function connectionErrorFrom(err: NodeJS.ErrnoException, host: DaemonHost): ConnectionError {
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return new ConnectionError(
        `permission denied while trying to connect to the tsdocker daemon socket at ${host.url}: ${err.message}`,
        { cause: err },
      );
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTSOCK':
      return new ConnectionError(
        `Cannot connect to the tsdocker daemon at ${host.url}. Is the tsdocker daemon running?`,
        { cause: err },
      );
    default:
      return new ConnectionError(`error during connect: ${err.message}`, { cause: err });
  }
}
