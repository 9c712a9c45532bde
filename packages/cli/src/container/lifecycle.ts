/** The steps `run` and `start -a` share: attach, wait, start, resize, signal forwarding. */
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { EngineClient } from '../client/http-client.js';
import { readBody } from '../client/transport.js';

export type WaitCondition = 'next-exit' | 'removed' | 'not-running';

export interface WaitOutcome {
  statusCode: number;
  /** Set when the daemon reported an error instead of an exit (docker then exits 125). */
  error?: string;
}

export interface PendingWait {
  /** Settles when the condition is met. Rejects if the connection breaks. */
  result: Promise<WaitOutcome>;
  /** Drops the wait (the daemon sees the connection close). */
  abandon(): void;
}

/**
 * `POST /containers/{id}/wait?condition=…`. Resolves as soon as the daemon sent the response
 * headers — the wait is then registered, so a container started afterwards cannot be missed.
 */
export async function waitForContainer(
  client: EngineClient,
  id: string,
  condition?: WaitCondition,
): Promise<PendingWait> {
  const res = await client.send('POST', `/containers/${id}/wait`, { query: { condition } });
  const result = readBody(res).then(parseWaitBody, (err: NodeJS.ErrnoException) => {
    // A connection cut before the answer reads as docker's "unexpected EOF".
    throw err.message === 'aborted' || err.code === 'ECONNRESET' ? new Error('unexpected EOF') : err;
  });
  // Callers may never look at the result (run -d); that must not count as unhandled.
  result.catch(() => {});
  return { result, abandon: () => res.destroy() };
}

function parseWaitBody(body: Buffer): WaitOutcome {
  if (body.length === 0) throw new Error('unexpected EOF');
  const parsed = JSON.parse(body.toString('utf8')) as {
    StatusCode?: number;
    Error?: { Message?: string } | null;
  };
  const error = parsed.Error?.Message;
  return { statusCode: parsed.StatusCode ?? 0, ...(error ? { error } : {}) };
}

/**
 * The exit code a finished wait stands for: the container's, or 125 when the daemon reported an
 * error or the wait broke (docker logs the reason to stderr).
 */
export async function exitCodeFromWait(wait: PendingWait, stderr: Writable): Promise<number> {
  try {
    const result = await wait.result;
    if (!result.error) return result.statusCode;
    stderr.write(`Error waiting for container: ${result.error}\n`);
  } catch (err) {
    stderr.write(`error waiting for container: ${(err as Error).message}\n`);
  }
  return 125;
}

/**
 * A wait whose request failed. Docker still starts the container and reports the failure (exit
 * 125) once the output ends, so callers treat it like any other wait.
 */
export function failedWait(err: unknown): PendingWait {
  const result = Promise.reject(err);
  result.catch(() => {});
  return { result, abandon: () => {} };
}

/** Hijacked `POST /containers/{id}/attach?stderr=1&stdin=1&stdout=1&stream=1`. */
export function attachContainer(
  client: EngineClient,
  id: string,
  options: { stdin: boolean },
): Promise<Socket> {
  return client.hijack('POST', `/containers/${id}/attach`, {
    query: { stderr: true, stdin: options.stdin, stdout: true, stream: true },
  });
}

export function startContainer(client: EngineClient, id: string): Promise<void> {
  return client.call('POST', `/containers/${id}/start`);
}

export function resizeContainer(client: EngineClient, id: string, rows: number, cols: number): Promise<void> {
  return client.call('POST', `/containers/${id}/resize`, { query: { h: rows, w: cols } });
}

export function killContainer(client: EngineClient, id: string, signal: string): Promise<void> {
  return client.call('POST', `/containers/${id}/kill`, { query: { signal } });
}

/**
 * docker's exit code for a failed create/start: 127 when the command was not found, 126 when it
 * could not be executed, 125 for any other daemon failure.
 */
export function startFailureExitCode(message: string): 125 | 126 | 127 {
  const text = message.replace(/^Error response from daemon: /, '');
  if (
    text.includes('executable file not found') ||
    text.includes('no such file or directory') ||
    text.includes('system cannot find the file specified')
  ) {
    return 127;
  }
  if (text.includes('permission denied') || text.includes('is a directory')) return 126;
  return 125;
}
