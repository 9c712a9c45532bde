/** Writing to stdout/stderr with backpressure, so a slow pipe never buffers a whole log in memory. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export async function writeAll(stream: Writable, data: Buffer | string): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/** Resolves once everything written so far has been handed to the OS (before process.exit). */
export function flushWritable(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) {
      resolve();
      return;
    }
    stream.write('', () => resolve());
  });
}
