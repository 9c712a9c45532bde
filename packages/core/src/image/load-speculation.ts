/**
 * `docker load` applies layers while the archive is still arriving.
 *
 * Why: the file that says what an archive holds (`manifest.json`, `index.json`) comes after the
 * layers in everything Docker writes, so a load that waits for it receives and spools the whole
 * archive first, then applies the layers one after the other. Applying a layer is the slow part,
 * and it can start as soon as the layer starts arriving, in parallel with the rest of the
 * receiving.
 *
 * How: every archive file that looks like a layer (by its name, size and first bytes) is applied
 * as a base layer (`LayerStore.prepareBase`), reading the spool file as it grows. Once the
 * archive has been read, the load takes the prepared layer for each layer it needs, when its
 * diff id is the one the image config names, and stores it on its real parent; any other file's
 * work is stopped and removed. Nothing here can fail a load: a layer that could not be prepared
 * (not a tar after all, an unsafe entry, a full disk) is applied again the usual way, which
 * reports the error.
 *
 * Only where the storage driver can move a layer onto its parent afterwards (`setParent`):
 * elsewhere a layer's content depends on its parent's, and none is prepared.
 */

import { link } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { decompressStream, detectCompression } from '../archive/compression.js';
import type { GrowingFile } from '../archive/growing-file.js';
import type { Logger } from '../drivers/descriptor.js';
import type { SpoolFollower } from './archive-spool.js';
import type { Digest } from './digest.js';
import { applyKeepingCopy, type LayerStore, type PreparedLayer } from './layer-store.js';

/** Smaller layers are applied after the archive has been read: a worker thread costs ~40 ms. */
const MIN_PREPARED_LAYER_BYTES = 1024 * 1024;
/** Layers applied at once; more wait for a turn (each is one worker thread writing files). */
const MAX_RUNNING = 2;
/**
 * Where Docker archives keep layers: `<v1 id>/layer.tar` (Docker before 25), `blobs/sha256/<hex>`
 * (Docker 25+ and OCI layouts), `<hex>.tar` (skopeo and others).
 */
const LAYER_PATH = /^(?:[^/]+\/layer\.tar|blobs\/sha256\/[0-9a-f]{64}|[^/]+\.tar)$/;
/** ustar's magic at offset 257 of a tar header ("ustar\0" POSIX, "ustar " GNU). */
const USTAR_OFFSET = 257;

interface Attempt {
  /** The spool file being followed. */
  readonly file: GrowingFile;
  /** Set once the attempt runs; destroying it stops the attempt. */
  input: Readable | null;
  /** False once the load said it does not need this file. */
  wanted: boolean;
  /** The prepared layer, or null when it could not be prepared or was stopped. */
  result: Promise<PreparedLayer | null>;
}

export class LoadSpeculation {
  readonly #layers: LayerStore;
  readonly #logger: Logger;
  /** By spool file path. */
  readonly #attempts = new Map<string, Attempt>();
  #running = 0;
  readonly #queue: Array<() => void> = [];

  private constructor(layers: LayerStore, logger: Logger) {
    this.#layers = layers;
    this.#logger = logger;
  }

  /** Null when the layer store's driver cannot prepare layers. */
  static for(layers: LayerStore, logger: Logger): LoadSpeculation | null {
    return layers.canPrepare ? new LoadSpeculation(layers, logger) : null;
  }

  /** The ArchiveSpool follower: starts (or queues) an attempt for each file that looks like a layer. */
  readonly follower: SpoolFollower = (entry, file) => {
    if (entry.size < MIN_PREPARED_LAYER_BYTES || !LAYER_PATH.test(entry.path)) return null;
    const compression = detectCompression(entry.head);
    const plain = compression === 'none';
    if (plain ? !looksLikeTar(entry.head) : compression !== 'gzip' && compression !== 'zstd') return null;
    const attempt: Attempt = { file, input: null, wanted: true, result: Promise.resolve(null) };
    // Never rejects: #prepare turns every failure into null.
    attempt.result = this.#run(() => this.#prepare(attempt, plain)).catch(() => null);
    this.#attempts.set(file.path, attempt);
    // A plain layer's diff id is the sha256 the spool computes while writing it.
    return { digest: plain };
  };

  /**
   * Stops the attempts on spool files not in `files` (layers the load already has, images of
   * other platforms): called once the archive has been read.
   */
  keepOnly(files: ReadonlySet<string>): void {
    for (const [path, attempt] of this.#attempts) {
      if (!files.has(path)) this.#stop(attempt);
    }
  }

  /**
   * The layer prepared from spool file `file`, if there is one and its diff id is `diffId`; it is
   * the caller's from then on (to commit or discard). Null otherwise: the caller applies the
   * layer itself.
   */
  async take(file: string, diffId: Digest): Promise<PreparedLayer | null> {
    const attempt = this.#attempts.get(file);
    if (!attempt) return null;
    this.#attempts.delete(file);
    const prepared = await attempt.result;
    if (!prepared) return null;
    if (prepared.diffId !== diffId) {
      await this.#discard(prepared);
      return null;
    }
    return prepared;
  }

  /** Stops every attempt not taken and removes what they made. Never throws. */
  async discardAll(): Promise<void> {
    const attempts = [...this.#attempts.values()];
    this.#attempts.clear();
    for (const attempt of attempts) this.#stop(attempt);
    for (const attempt of attempts) {
      const prepared = await attempt.result;
      if (prepared) await this.#discard(prepared);
    }
  }

  #stop(attempt: Attempt): void {
    attempt.wanted = false;
    attempt.input?.destroy();
  }

  async #discard(prepared: PreparedLayer): Promise<void> {
    await this.#layers.discardPrepared(prepared).catch((err: unknown) => {
      this.#logger.warn('could not remove a layer applied ahead of a load', { error: String(err) });
    });
  }

  /** Runs `task` when fewer than MAX_RUNNING are running. */
  async #run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= MAX_RUNNING) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }

  async #prepare(attempt: Attempt, plain: boolean): Promise<PreparedLayer | null> {
    if (!attempt.wanted) return null;
    const input = attempt.file.follow();
    attempt.input = input;
    try {
      const prepared = await this.#layers.prepareBase(async (keepAt, apply) => {
        if (!plain) return applyKeepingCopy(decompressStream(input), keepAt, apply);
        // The driver gets the followed spool file as it is (an extraction worker reads the file
        // itself), and the spool computed its sha256, the diff id, while receiving it.
        const size = await apply(input);
        const done = await attempt.file.whole();
        if (!done.digest) throw new Error('the spool did not compute the layer digest');
        // The layer keeps the spool file as its tar, by a hard link.
        await link(attempt.file.path, keepAt);
        return { diffId: done.digest, size, tarBytes: done.written };
      });
      if (attempt.wanted) return prepared;
      await this.#discard(prepared);
      return null;
    } catch (err) {
      if (attempt.wanted) {
        this.#logger.debug('a layer could not be applied while its archive arrived; applying it again', {
          error: String(err),
        });
      }
      return null;
    } finally {
      input.destroy();
    }
  }
}

/** A plain tar's first header: ustar's magic, and a valid header checksum. */
function looksLikeTar(head: Buffer): boolean {
  if (head.length < 512) return false;
  const magic = head.toString('latin1', USTAR_OFFSET, USTAR_OFFSET + 5);
  if (magic !== 'ustar') return false;
  const stored = Number.parseInt(
    head
      .toString('latin1', 148, 156)
      .replace(/[\0 ]+$/, '')
      .trim(),
    8,
  );
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (head[i] as number);
  return stored === sum;
}
