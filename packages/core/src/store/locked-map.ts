/**
 * A map guarded by a lock: the seed daemon's `contStore`. Plain reads are synchronous and always
 * see a consistent map (Node runs one callback at a time); compound operations that await in the
 * middle — check, write state to disk, then insert — go through `run`, so two of them never
 * interleave.
 */
import { Mutex } from './mutex.js';

export class LockedMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #mutex = new Mutex();

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** A snapshot of the values: safe to iterate while the map changes. */
  values(): V[] {
    return [...this.#map.values()];
  }

  /** A snapshot of the entries: safe to iterate while the map changes. */
  entries(): Array<[K, V]> {
    return [...this.#map.entries()];
  }

  /** The first value matching `predicate`, or undefined (moby's `containers.First`). */
  find(predicate: (value: V, key: K) => boolean): V | undefined {
    for (const [key, value] of this.#map) if (predicate(value, key)) return value;
    return undefined;
  }

  /**
   * Runs a compound operation under the lock. `fn` gets the live map; mutate it only after every
   * fallible step (disk writes) has succeeded, so a failure leaves the map as it was.
   */
  run<T>(fn: (map: Map<K, V>) => T | Promise<T>): Promise<T> {
    return this.#mutex.run(() => fn(this.#map));
  }
}
