/**
 * The content-addressed image store (moby's `image.Store` over its filesystem backend), under
 * `<data-root>/image/<driver>/imagedb/`:
 *
 *   content/sha256/<hex>                  the exact config bytes; the image id is their sha256
 *   metadata/sha256/<hex>/parent          parent image id (images built or committed locally)
 *   metadata/sha256/<hex>/lastUpdated     when the image was last tagged (RFC 3339)
 *
 * Each image holds one reference on its top layer in the layer store, so the layers live exactly
 * as long as some image (or container) needs them.
 */
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../drivers/descriptor.js';
import { notFound } from '../errors.js';
import { parseNanos } from '../logs/log-time.js';
import { readFileCapped, removeStaleTempFiles, writeFileAtomic } from '../store/atomic-file.js';
import { IdIndex, type PrefixLookup } from '../store/id-index.js';
import { Mutex } from '../store/mutex.js';
import { topChainId } from './chain-id.js';
import { type Digest, digestHex, isHex64, isSha256Digest, sha256Digest } from './digest.js';
import { type ImageConfig, MAX_IMAGE_CONFIG_BYTES, parseImageConfig } from './image-config.js';
import type { LayerHandle, LayerStore } from './layer-store.js';
import type { BadRecord } from './layerdb.js';

/** One image as the store keeps it in memory. */
export interface ImageEntry {
  readonly id: Digest;
  /** The config bytes exactly as stored (and as `docker save` must write them). */
  readonly raw: Buffer;
  readonly config: ImageConfig;
  /** Chain id of the top layer, or null for an image without layers. */
  readonly topChainId: Digest | null;
  /** `created` in nanoseconds since the epoch, or null when the config has none. */
  readonly createdNs: bigint | null;
  parent: Digest | null;
  /** RFC 3339 time of the last tag, or null when never tagged here. */
  lastUpdated: string | null;
}

interface Held {
  entry: ImageEntry;
  layer: LayerHandle | null;
}

export class ImageStore {
  readonly #contentDir: string;
  readonly #metadataDir: string;
  readonly #layers: LayerStore;
  readonly #logger: Logger;
  readonly #images = new Map<Digest, Held>();
  readonly #children = new Map<Digest, Set<Digest>>();
  readonly #index = new IdIndex();
  readonly #lock = new Mutex();

  /** `root` is `<data-root>/image/<driver>/imagedb`. */
  constructor(root: string, layers: LayerStore, logger: Logger) {
    this.#contentDir = join(root, 'content', 'sha256');
    this.#metadataDir = join(root, 'metadata', 'sha256');
    this.#layers = layers;
    this.#logger = logger;
  }

  /** Restores every readable image; bad ones are logged, reported and left on disk. */
  async open(): Promise<{ bad: BadRecord[] }> {
    await mkdir(this.#contentDir, { recursive: true, mode: 0o700 });
    await mkdir(this.#metadataDir, { recursive: true, mode: 0o700 });
    await removeStaleTempFiles(this.#contentDir);
    const bad: BadRecord[] = [];
    for (const name of await readdir(this.#contentDir)) {
      const path = join(this.#contentDir, name);
      try {
        if (!isHex64(name)) throw new Error('not an image id');
        const raw = await readFileCapped(path, MAX_IMAGE_CONFIG_BYTES);
        const id = sha256Digest(raw);
        if (digestHex(id) !== name) throw new Error(`content does not match its digest (got ${id})`);
        const config = parseImageConfig(raw);
        const top = topChainId(config.rootfs.diff_ids);
        if (top && !this.#layers.has(top)) throw new Error(`layer ${top} does not exist`);
        const meta = await this.#readMetadata(name);
        const entry = this.#entry(id, raw, config, top, meta.parent, meta.lastUpdated);
        this.#insert(entry, top ? this.#layers.acquire(top) : null);
      } catch (err) {
        bad.push({ path, reason: (err as Error).message });
      }
    }
    for (const b of bad) this.#logger.error('skipping unreadable image', { ...b });
    // Parent links only count between images that are both present.
    for (const { entry } of this.#images.values()) {
      if (entry.parent && !this.#images.has(entry.parent)) entry.parent = null;
      if (entry.parent) this.#childSet(entry.parent).add(entry.id);
    }
    return { bad };
  }

  async #readMetadata(hex: string): Promise<{ parent: Digest | null; lastUpdated: string | null }> {
    const dir = join(this.#metadataDir, hex);
    await removeStaleTempFiles(dir);
    const read = async (key: string) => {
      try {
        return (await readFileCapped(join(dir, key), 4096)).toString('utf8').trim();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    };
    const parent = await read('parent');
    const lastUpdated = await read('lastUpdated');
    return {
      parent: parent && isSha256Digest(parent) ? parent : null,
      lastUpdated: lastUpdated && parseNanos(lastUpdated) !== null ? lastUpdated : null,
    };
  }

  #entry(
    id: Digest,
    raw: Buffer,
    config: ImageConfig,
    top: Digest | null,
    parent: Digest | null,
    lastUpdated: string | null,
  ): ImageEntry {
    return {
      id,
      raw,
      config,
      topChainId: top,
      createdNs: config.created ? parseNanos(config.created) : null,
      parent,
      lastUpdated,
    };
  }

  #insert(entry: ImageEntry, layer: LayerHandle | null): void {
    this.#images.set(entry.id, { entry, layer });
    this.#index.add(digestHex(entry.id));
  }

  #childSet(id: Digest): Set<Digest> {
    let set = this.#children.get(id);
    if (!set) {
      set = new Set();
      this.#children.set(id, set);
    }
    return set;
  }

  get size(): number {
    return this.#images.size;
  }

  get(id: Digest): ImageEntry | undefined {
    return this.#images.get(id)?.entry;
  }

  /** Every image (a snapshot). */
  all(): ImageEntry[] {
    return [...this.#images.values()].map((h) => h.entry);
  }

  /** Images whose parent is `id`. */
  children(id: Digest): Digest[] {
    return [...(this.#children.get(id) ?? [])];
  }

  /**
   * Finds an image by id prefix: hex (`3f4a`) or `sha256:` plus hex. Ambiguous prefixes and
   * non-hex terms are reported, never guessed.
   */
  search(term: string): PrefixLookup {
    let hex = term;
    if (term.includes(':')) {
      if (!term.startsWith('sha256:')) return { status: 'missing' };
      hex = term.slice('sha256:'.length);
    }
    if (!/^[a-f0-9]+$/.test(hex)) return { status: 'missing' };
    const found = this.#index.lookup(hex);
    return found.status === 'found' ? { status: 'found', id: `sha256:${found.id}` } : found;
  }

  /**
   * Stores config `raw` and returns its id; `created` is false when an image with that id was
   * already there (nothing changes then). The config must be valid and its layers present.
   */
  async create(raw: Buffer, parent: Digest | null = null): Promise<{ id: Digest; created: boolean }> {
    const config = parseImageConfig(raw);
    const id = sha256Digest(raw);
    return this.#lock.run(async () => {
      if (this.#images.has(id)) return { id, created: false };
      const top = topChainId(config.rootfs.diff_ids);
      if (top && !this.#layers.has(top)) throw notFound(`failed to get layer ${top}: layer does not exist`);
      if (parent && !this.#images.has(parent)) throw notFound(`No such image: ${parent}`);
      const hex = digestHex(id);
      const contentPath = join(this.#contentDir, hex);
      await writeFileAtomic(contentPath, raw, 0o600);
      try {
        if (parent) await this.#writeMetadata(hex, 'parent', parent);
      } catch (err) {
        await unlink(contentPath).catch(() => {});
        throw err;
      }
      const entry = this.#entry(id, raw, config, top, parent, null);
      this.#insert(entry, top ? this.#layers.acquire(top) : null);
      if (parent) this.#childSet(parent).add(id);
      return { id, created: true };
    });
  }

  async #writeMetadata(hex: string, key: string, value: string): Promise<void> {
    const dir = join(this.#metadataDir, hex);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, key), value, 0o600);
  }

  /** Records that image `id` was tagged at `time` (RFC 3339). */
  async setLastUpdated(id: Digest, time: string): Promise<void> {
    await this.#lock.run(async () => {
      const held = this.#images.get(id);
      if (!held) throw notFound(`No such image: ${id}`);
      await this.#writeMetadata(digestHex(id), 'lastUpdated', time);
      held.entry.lastUpdated = time;
    });
  }

  /**
   * Deletes image `id`: its config and metadata, its children's parent links, and its layer
   * reference. Returns the chain ids of layers that were deleted as a result.
   */
  async delete(id: Digest): Promise<Digest[]> {
    const held = await this.#lock.run(async () => {
      const current = this.#images.get(id);
      if (!current) throw notFound(`unrecognized image ID ${id}`);
      const hex = digestHex(id);
      // Content first: once it is gone the image no longer exists, whatever else fails.
      await rm(join(this.#contentDir, hex), { force: true });
      this.#images.delete(id);
      this.#index.delete(hex);
      for (const child of this.children(id)) {
        const childEntry = this.#images.get(child)?.entry;
        if (childEntry) childEntry.parent = null;
        await rm(join(this.#metadataDir, digestHex(child), 'parent'), { force: true }).catch(() => {});
      }
      this.#children.delete(id);
      if (current.entry.parent) this.#children.get(current.entry.parent)?.delete(id);
      await rm(join(this.#metadataDir, hex), { recursive: true, force: true }).catch((err: unknown) => {
        this.#logger.warn('could not remove image metadata', { id, error: String(err) });
      });
      return current;
    });
    return held.layer ? held.layer.release() : [];
  }
}
