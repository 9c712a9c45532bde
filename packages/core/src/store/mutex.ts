/**
 * Async locks. Node runs one callback at a time, so a synchronous read-modify-write is already
 * atomic; what needs a lock is a compound operation that awaits in the middle (check a name,
 * write a file, then register it). Locks are FIFO and not reentrant: calling `run` on the same
 * mutex from inside its own critical section deadlocks.
 */

export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #holders = 0;

  /** True while a critical section runs or waits. */
  get locked(): boolean {
    return this.#holders > 0;
  }

  /** Runs `fn` once every earlier caller has finished; resolves or rejects with its result. */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#tail = done;
    this.#holders++;
    return previous.then(async () => {
      try {
        return await fn();
      } finally {
        this.#holders--;
        release();
      }
    });
  }
}

/** One mutex per key (a container id, a layer id), created on demand and dropped when idle. */
export class KeyedMutex<K = string> {
  readonly #locks = new Map<K, { mutex: Mutex; users: number }>();

  /** True while `key`'s critical section runs or waits. */
  isLocked(key: K): boolean {
    return this.#locks.has(key);
  }

  run<T>(key: K, fn: () => T | Promise<T>): Promise<T> {
    let entry = this.#locks.get(key);
    if (!entry) {
      entry = { mutex: new Mutex(), users: 0 };
      this.#locks.set(key, entry);
    }
    const held = entry;
    held.users++;
    return held.mutex.run(fn).finally(() => {
      held.users--;
      if (held.users === 0) this.#locks.delete(key);
    });
  }
}
