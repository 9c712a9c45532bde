/**
 * Writes of small files that run while the extractor reads the next entries. A layer is mostly
 * small files, and each one costs several filesystem calls (open, write, chown, utimes, close);
 * awaited one after another, every call waits for a round trip through libuv's thread pool, so
 * extraction ran at a fraction of `tar -x`'s speed. Keeping a few files in flight lets the
 * pool's threads overlap them.
 *
 * The queue knows which paths are in flight: the extractor waits for them (`drain`) before any
 * entry that could touch them, so entries still take effect in archive order. Work is bounded by
 * count and by bytes held. The first failure is kept and thrown by the next `admit` or `drain`.
 */

/** Files in flight at most: enough to keep libuv's default four threads busy. */
const MAX_IN_FLIGHT = 16;
/** File contents held in memory at most. */
const MAX_HELD_BYTES = 32 * 1024 * 1024;

export class WriteQueue {
  readonly #inFlight = new Map<string, Promise<void>>();
  #heldBytes = 0;
  #failure: { error: unknown } | null = null;

  /** Whether `path` (an entry's relative path) is being written. */
  has(path: string): boolean {
    return this.#inFlight.has(path);
  }

  get size(): number {
    return this.#inFlight.size;
  }

  /** Throws the first failure of a queued write, if any. */
  check(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Starts `write` for `path` holding `bytes` of memory, after waiting for room. Its failure is
   * thrown later (by `check`, `admit` or `drain`).
   */
  async admit(path: string, bytes: number, write: () => Promise<void>): Promise<void> {
    while (
      this.#inFlight.size > 0 &&
      (this.#inFlight.size >= MAX_IN_FLIGHT || this.#heldBytes + bytes > MAX_HELD_BYTES)
    ) {
      await Promise.race(this.#inFlight.values());
    }
    this.check();
    this.#heldBytes += bytes;
    const job = write().then(
      () => {},
      (error: unknown) => {
        this.#failure ??= { error };
      },
    );
    const tracked = job.finally(() => {
      this.#heldBytes -= bytes;
      this.#inFlight.delete(path);
    });
    this.#inFlight.set(path, tracked);
  }

  /** Waits for every queued write; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.check();
  }

  /** Waits for every queued write, never throwing (before the caller cleans up after a failure). */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.values());
  }
}
