/**
 * Feeds an uncompressed layer tar to a graph driver's `applyDiff` while hashing it, so the diff
 * id is the sha256 of every byte of the tar — including the padding and end-of-archive blocks
 * that an extractor stops reading before (moby drains the rest of the stream for the same
 * reason).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { Digest } from './digest.js';

export interface AppliedDiff {
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  /** What the driver reported writing (moby's layer `size`). */
  size: number;
  /** Length of the uncompressed tar. */
  tarBytes: number;
}

/**
 * Streams `source` into `apply` and hashes it. Rejects with the source's error or the driver's,
 * and only once the driver has stopped working on the layer (so the caller can remove it).
 */
export async function applyAndDigest(
  source: Readable,
  apply: (input: Readable) => Promise<number>,
  opts: {
    /**
     * The sha256 of `source`, when this process already computed it over the very same bytes (a
     * blob `docker load` hashed while spooling it): the second hash is skipped.
     */
    knownDigest?: Digest;
  } = {},
): Promise<AppliedDiff> {
  const hash = opts.knownDigest ? null : createHash('sha256');
  // Room for a few reads' worth: with the default 16 KiB every chunk would wait for a drain.
  const toDriver = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  // The driver may destroy its input on a bad entry; that surfaces through `applying`.
  toDriver.on('error', () => {});
  let settled = false;
  let driverError: unknown = null;
  const applying = Promise.resolve()
    .then(() => apply(toDriver))
    .then(
      (size) => {
        settled = true;
        return size;
      },
      (err: unknown) => {
        settled = true;
        driverError = err;
        throw err;
      },
    );
  applying.catch(() => {});
  const driverStopped = applying.then(
    () => undefined,
    () => undefined,
  );

  let tarBytes = 0;
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      hash?.update(buf);
      tarBytes += buf.length;
      if (driverError) throw driverError;
      // Once the driver has what it needs (it may stop at the end-of-archive marker), the
      // rest is only hashed.
      if (settled || toDriver.destroyed) continue;
      if (!toDriver.write(buf)) {
        const drained = once(toDriver, 'drain').then(
          () => undefined,
          () => undefined,
        );
        await Promise.race([drained, driverStopped]);
      }
    }
    toDriver.end();
  } catch (err) {
    if (err !== driverError) {
      // The source failed (bad compression, client gone): stop the driver and wait for it.
      toDriver.destroy(err instanceof Error ? err : new Error(String(err)));
      await driverStopped;
    }
    source.destroy();
    throw err;
  }
  const size = await applying;
  const diffId: Digest = hash ? `sha256:${hash.digest('hex')}` : (opts.knownDigest as Digest);
  return { diffId, size, tarBytes };
}
