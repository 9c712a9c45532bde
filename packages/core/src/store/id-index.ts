/**
 * Ids and unique-prefix lookup (moby's `truncindex` and `stringid`). The index keeps ids sorted,
 * so a prefix lookup is two binary searches: every id starting with a prefix sits in one run.
 */
import { randomBytes } from 'node:crypto';
import { alreadyExists, invalidArgument } from '../errors.js';

/** The outcome of a prefix lookup, for callers that treat ambiguity as "not found" (images). */
export type PrefixLookup = { status: 'found'; id: string } | { status: 'missing' } | { status: 'ambiguous' };

export class IdIndex {
  #ids: string[] = [];

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.add(id);
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Adds `id`; throws for an empty id, one with whitespace, or one already present. */
  add(id: string): void {
    if (id === '') throw invalidArgument("prefix can't be empty");
    if (/\s/.test(id)) throw invalidArgument(`illegal character: ${JSON.stringify(id)}`);
    const at = this.#lowerBound(id);
    if (this.#ids[at] === id) throw alreadyExists('id already exists');
    this.#ids.splice(at, 0, id);
  }

  /** Removes `id`; returns whether it was there. */
  delete(id: string): boolean {
    const at = this.#lowerBound(id);
    if (this.#ids[at] !== id) return false;
    this.#ids.splice(at, 1);
    return true;
  }

  has(id: string): boolean {
    return this.#ids[this.#lowerBound(id)] === id;
  }

  /** Looks `prefix` up without throwing. An empty prefix is missing. */
  lookup(prefix: string): PrefixLookup {
    if (prefix === '') return { status: 'missing' };
    const first = this.#lowerBound(prefix);
    const candidate = this.#ids[first];
    if (candidate === undefined || !candidate.startsWith(prefix)) return { status: 'missing' };
    // A full id that is also a prefix of a longer id is still an exact answer.
    if (candidate === prefix) return { status: 'found', id: candidate };
    const next = this.#ids[first + 1];
    if (next?.startsWith(prefix)) return { status: 'ambiguous' };
    return { status: 'found', id: candidate };
  }

  /**
   * The full id that `prefix` uniquely starts, or undefined when none does. Throws
   * invalid-argument for an empty prefix and for one shared by several ids (Docker's messages).
   */
  get(prefix: string): string | undefined {
    if (prefix === '') throw invalidArgument("prefix can't be empty");
    const result = this.lookup(prefix);
    if (result.status === 'ambiguous')
      throw invalidArgument(`multiple IDs found with provided prefix: ${prefix}`);
    return result.status === 'found' ? result.id : undefined;
  }

  /** All ids, sorted. */
  values(): string[] {
    return [...this.#ids];
  }

  #lowerBound(key: string): number {
    let lo = 0;
    let hi = this.#ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#ids[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * A random 64-hex id. Like moby, ids whose 12-character short form is all digits are redrawn:
 * such a short id would be read as a number by tools (and by `docker ps` column parsing).
 */
export function generateId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^[0-9]+$/.test(id.slice(0, 12))) return id;
  }
}

/** The 12-character short form of an id, without any `sha256:` prefix (moby's `TruncateID`). */
export function shortId(id: string): string {
  const colon = id.indexOf(':');
  const hex = colon >= 0 ? id.slice(colon + 1) : id;
  return hex.length > 12 ? hex.slice(0, 12) : hex;
}
