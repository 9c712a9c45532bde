/**
 * The reference (tag) store, moby's `refstore`, persisted as `<data-root>/image/<driver>/
 * repositories.json` in moby's format: repositories keyed by familiar name, each mapping a
 * familiar reference to an image id:
 *
 *   {"Repositories":{"busybox":{"busybox:latest":"sha256:…","busybox@sha256:…":"sha256:…"}}}
 *
 * Every change writes the whole file atomically before memory is updated, so a failed write
 * changes nothing.
 */
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../drivers/descriptor.js';
import { conflict, invalidArgument } from '../errors.js';
import { readJsonFile, removeStaleTempFiles, writeFileAtomic } from '../store/atomic-file.js';
import { Mutex } from '../store/mutex.js';
import { type Digest, isSha256Digest } from './digest.js';
import { goMap } from './go-json.js';
import {
  familiarName,
  familiarString,
  type NamedReference,
  parseNormalizedNamed,
  refString,
  tagNameOnly,
  trimNamed,
} from './reference.js';

type Repositories = Map<string, Map<string, Digest>>;

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Only digests are kept when a reference has both a tag and a digest (moby's favorDigest). */
function favorDigest(ref: NamedReference): NamedReference {
  return ref.digest !== null && ref.tag !== null ? { ...ref, tag: null } : ref;
}

/** How a reference is looked up: digest references as is, others with `latest` added. */
function lookupForm(ref: NamedReference): NamedReference {
  return ref.digest !== null ? favorDigest(ref) : tagNameOnly(ref);
}

export class ReferenceStore {
  #repos: Repositories = new Map();
  /** The references of each image, sorted; rebuilt whenever `#repos` is replaced. */
  #byId = new Map<Digest, NamedReference[]>();
  readonly #lock = new Mutex();

  constructor(
    /** `<data-root>/image/<driver>/repositories.json`. */
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** Loads the file (creating it when missing); entries that do not parse are dropped with a log. */
  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await removeStaleTempFiles(dirname(this.path));
    let data: unknown;
    try {
      data = await readJsonFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        await this.#save(new Map());
        return;
      }
      // A corrupt tag file must not stop the daemon (the images are still there by id). Keep it
      // for an operator under another name, so the next tag does not overwrite it.
      const aside = `${this.path}.corrupt-${Date.now()}`;
      await rename(this.path, aside).catch(() => {});
      this.logger.error('set aside unreadable reference store', { path: aside, error: String(err) });
      await this.#save(new Map());
      return;
    }
    const repos: Repositories = new Map();
    const root = (data as { Repositories?: unknown } | null)?.Repositories;
    if (typeof root === 'object' && root !== null) {
      for (const [, refs] of Object.entries(root)) {
        if (typeof refs !== 'object' || refs === null) continue;
        for (const [refStr, id] of Object.entries(refs)) {
          try {
            if (!isSha256Digest(id)) throw new Error('not an image id');
            const ref = parseNormalizedNamed(refStr);
            this.#insert(repos, lookupForm(ref), id);
          } catch (err) {
            this.logger.warn('dropping unreadable reference', { reference: refStr, error: String(err) });
          }
        }
      }
    }
    this.#setRepos(repos);
  }

  #insert(repos: Repositories, ref: NamedReference, id: Digest): void {
    const name = familiarName(ref);
    let repo = repos.get(name);
    if (!repo) {
      repo = new Map();
      repos.set(name, repo);
    }
    repo.set(familiarString(ref), id);
  }

  async #save(repos: Repositories): Promise<void> {
    const doc: Record<string, Record<string, string>> = {};
    for (const [name, refs] of repos) doc[name] = Object.fromEntries(refs);
    const body = `{"Repositories":${goMap(Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, goMap(v)]))).text}}`;
    await writeFileAtomic(this.path, body, 0o600);
  }

  #setRepos(repos: Repositories): void {
    const byId = new Map<Digest, NamedReference[]>();
    for (const refs of repos.values()) {
      for (const [refStr, id] of refs) {
        const list = byId.get(id) ?? [];
        list.push(parseNormalizedNamed(refStr));
        byId.set(id, list);
      }
    }
    for (const list of byId.values()) list.sort((a, b) => compareStrings(refString(a), refString(b)));
    this.#repos = repos;
    this.#byId = byId;
  }

  #clone(): Repositories {
    return new Map([...this.#repos].map(([name, refs]) => [name, new Map(refs)]));
  }

  /** The image id `ref` points to (a name alone means `:latest`). */
  get(ref: NamedReference): Digest | undefined {
    const form = lookupForm(ref);
    return this.#repos.get(familiarName(form))?.get(familiarString(form));
  }

  /** Every reference to image `id`, sorted by full name like moby's `References`. */
  references(id: Digest): NamedReference[] {
    return [...(this.#byId.get(id) ?? [])];
  }

  /** Every image id some reference points to. */
  referencedIds(): Set<Digest> {
    const ids = new Set<Digest>();
    for (const refs of this.#repos.values()) for (const id of refs.values()) ids.add(id);
    return ids;
  }

  /**
   * Points tag `ref` at `id`. Without `force`, a tag already pointing elsewhere is a conflict.
   * Returns the image the tag pointed to before, if any.
   */
  async addTag(ref: NamedReference, id: Digest, force: boolean): Promise<Digest | undefined> {
    if (ref.digest !== null) throw invalidArgument('refusing to create a tag with a digest reference');
    return this.#add(tagNameOnly(ref), id, force);
  }

  /** Records digest reference `ref` (`name@sha256:<hex>`) for `id`; digests are never overwritten. */
  async addDigest(ref: NamedReference, id: Digest): Promise<Digest | undefined> {
    if (ref.digest === null) throw invalidArgument('not a digest reference');
    return this.#add(favorDigest(ref), id, false);
  }

  #add(ref: NamedReference, id: Digest, force: boolean): Promise<Digest | undefined> {
    if (familiarName(ref) === 'sha256') {
      throw invalidArgument('refusing to create an ambiguous tag using digest algorithm as name');
    }
    return this.#lock.run(async () => {
      const name = familiarName(ref);
      const refStr = familiarString(ref);
      const old = this.#repos.get(name)?.get(refStr);
      if (old !== undefined) {
        if (ref.digest !== null) {
          if (old === id) return old;
          throw conflict(`Cannot overwrite digest ${ref.digest}`);
        }
        if (!force && old !== id) {
          throw conflict(
            `Conflict: Tag ${refStr} is already set to image ${old}, if you want to replace it, please use the force option`,
          );
        }
        if (old === id) return old;
      }
      const next = this.#clone();
      this.#insert(next, ref, id);
      await this.#save(next);
      this.#setRepos(next);
      return old;
    });
  }

  /** Removes `ref` (a name alone means `:latest`); returns whether it existed. */
  async delete(ref: NamedReference): Promise<boolean> {
    const form = lookupForm(ref);
    return this.#lock.run(async () => {
      const name = familiarName(form);
      const refStr = familiarString(form);
      if (!this.#repos.get(name)?.has(refStr)) return false;
      const next = this.#clone();
      const repo = next.get(name) as Map<string, Digest>;
      repo.delete(refStr);
      if (repo.size === 0) next.delete(name);
      await this.#save(next);
      this.#setRepos(next);
      return true;
    });
  }

  /** Every reference in repository `ref` (any tag or digest), sorted. */
  referencesByName(ref: NamedReference): Array<{ ref: NamedReference; id: Digest }> {
    const repo = this.#repos.get(familiarName(trimNamed(ref)));
    if (!repo) return [];
    return [...repo]
      .map(([refStr, id]) => ({ ref: parseNormalizedNamed(refStr), id }))
      .sort((a, b) => compareStrings(refString(a.ref), refString(b.ref)));
  }
}
