/**
 * A file one writer appends to while readers follow it: `docker load` starts applying a layer
 * while the rest of the layer is still being received and spooled. A reader gets what has been
 * written so far, then waits for more, until the writer says the file is complete (or failed).
 */
import { close, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import type { Digest } from '../image/digest.js';

/** Bytes per read of a follower. */
const READ_BYTES = 1024 * 1024;

/** What a watcher of a GrowingFile is told: on `watch`, then at each step of the writer. */
export interface GrowthState {
  written: number;
  state: 'open' | 'complete' | 'failed';
  error: Error | null;
}

/** The file behind each stream `follow()` returned (see `followedFile`). */
const followed = new WeakMap<Readable, GrowingFile>();

/**
 * The growing file a stream from `GrowingFile.follow()` reads, for a reader that would rather
 * read the file itself (the layer extraction worker: the bytes then never pass through the main
 * thread); null for any other stream. Such a reader must not read the stream as well.
 */
export function followedFile(stream: Readable): GrowingFile | null {
  return followed.get(stream) ?? null;
}

export class GrowingFile {
  readonly path: string;
  #written = 0;
  #state: 'open' | 'complete' | 'failed' = 'open';
  #error: Error | null = null;
  #digest: Digest | null = null;
  #waiters: Array<() => void> = [];
  readonly #watchers = new Set<(growth: GrowthState) => void>();

  constructor(path: string) {
    this.path = path;
  }

  /** sha256 of the whole file, when the writer computed it; known once complete. */
  get digest(): Digest | null {
    return this.#digest;
  }

  /** The writer: `bytes` more are on disk (written, not necessarily synced). */
  grew(bytes: number): void {
    this.#written += bytes;
    this.#wake();
  }

  /** The writer: the file is whole. */
  complete(digest: Digest | null): void {
    if (this.#state !== 'open') return;
    this.#state = 'complete';
    this.#digest = digest;
    this.#wake();
  }

  /** The writer: the file will never be whole; followers fail with `err`. */
  fail(err: Error): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#error = err;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    for (const watcher of this.#watchers) watcher(this.#growth());
  }

  #growth(): GrowthState {
    return { written: this.#written, state: this.#state, error: this.#error };
  }

  /**
   * Resolves once the file is complete, with its length and digest; rejects if the writer failed.
   * (An extraction may stop reading at the tar's end-of-archive marker, before the file is whole.)
   */
  async whole(): Promise<{ written: number; digest: Digest | null }> {
    while (this.#state === 'open') await this.#nextChange();
    if (this.#state === 'failed') throw this.#error ?? new Error('the file was not written');
    return { written: this.#written, digest: this.#digest };
  }

  /** Calls `watcher` now and at each step of the writer until the returned function is called. */
  watch(watcher: (growth: GrowthState) => void): () => void {
    this.#watchers.add(watcher);
    watcher(this.#growth());
    return () => this.#watchers.delete(watcher);
  }

  /** Resolves at the writer's next step (or a follower's destroy): callers check again. */
  #nextChange(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * The file's bytes from the start, following the writer: the stream ends when the file is
   * complete and read to its end, and fails when the writer failed. Destroying it stops reading.
   */
  follow(): Readable {
    const file = this;
    let fd: number | null = null;
    let offset = 0;
    let pumping = false;
    /** An open or a read is in flight: the descriptor may only be closed after it. */
    let busy = false;
    let closeWhenIdle = false;

    const closeFd = () => {
      const opened = fd;
      fd = null;
      if (opened !== null) close(opened, () => {});
    };
    const openFd = () =>
      new Promise<number>((resolve, reject) =>
        open(file.path, 'r', (err, opened) => (err ? reject(err) : resolve(opened))),
      );
    const readChunk = (at: number, length: number) =>
      new Promise<Buffer>((resolve, reject) => {
        const buffer = Buffer.allocUnsafe(length);
        read(at, buffer, 0, length, offset, (err, n) => (err ? reject(err) : resolve(buffer.subarray(0, n))));
      });
    /** Runs an fd operation; a destroy meanwhile closes the descriptor after it, not under it. */
    async function guarded<T>(op: () => Promise<T>): Promise<T> {
      busy = true;
      try {
        return await op();
      } finally {
        busy = false;
        if (closeWhenIdle) closeFd();
      }
    }

    // Reads while the consumer wants more; one pump at a time.
    async function pump(stream: Readable): Promise<void> {
      if (pumping) return;
      pumping = true;
      try {
        if (fd === null) {
          const opened = await guarded(openFd);
          if (stream.destroyed) {
            close(opened, () => {});
            return;
          }
          fd = opened;
        }
        for (;;) {
          while (file.#written <= offset && file.#state === 'open') {
            if (stream.destroyed) return;
            await file.#nextChange();
          }
          if (stream.destroyed) return;
          if (file.#state === 'failed') throw file.#error ?? new Error('the file was not written');
          const available = file.#written - offset;
          if (available <= 0) {
            stream.push(null); // complete, and read to the end
            return;
          }
          const at: number = fd;
          const chunk = await guarded(() => readChunk(at, Math.min(available, READ_BYTES)));
          if (stream.destroyed) return;
          if (chunk.length === 0) throw new Error(`${file.path} is shorter than was written to it`);
          offset += chunk.length;
          if (!stream.push(chunk)) return; // read() pumps again
        }
      } catch (err) {
        stream.destroy(err instanceof Error ? err : new Error(String(err)));
      } finally {
        pumping = false;
      }
    }

    const stream = new Readable({
      highWaterMark: READ_BYTES,
      read() {
        void pump(this);
      },
      destroy(err, callback) {
        // A follower waiting for the writer is let go; it sees `destroyed` and returns.
        file.#wake();
        if (busy) closeWhenIdle = true;
        else closeFd();
        callback(err);
      },
    });
    followed.set(stream, this);
    return stream;
  }
}
