/**
 * The layer store (moby's `layer.Store`) over a graph driver: read-only layers named by chain
 * id, each a driver layer made by applying a diff on top of its parent, and containers'
 * read-write layers (an `<mount-id>-init` layer filled by a callback, then the writable layer).
 *
 * Layers are reference counted in memory: every image holds its top layer, every layer holds its
 * parent, every read-write layer holds the layer below it, and callers hold the handles they got
 * from `register`. A layer leaves the driver and `layerdb` when its count drops to zero. Counts
 * are rebuilt from disk by `open`.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../drivers/descriptor.js';
import type { Change, DiffGraphDriver } from '../drivers/graph-driver.js';
import { conflict, internal, invalidArgument, notFound } from '../errors.js';
import { generateId } from '../store/id-index.js';
import { KeyedMutex, Mutex } from '../store/mutex.js';
import { applyAndDigest } from './apply-diff.js';
import { createChainId } from './chain-id.js';
import type { Digest } from './digest.js';
import { type BadRecord, isContainerId, LayerDb } from './layerdb.js';

/** moby's maxLayerDepth: overlay and aufs cannot stack more. */
export const MAX_LAYER_DEPTH = 125;

interface RoLayer {
  readonly chainId: Digest;
  readonly diffId: Digest;
  readonly parent: RoLayer | null;
  readonly cacheId: string;
  readonly size: number;
  refs: number;
}

interface RwLayer {
  readonly containerId: string;
  readonly mountId: string;
  readonly initId: string | null;
  readonly parent: RoLayer | null;
  /** Our own `get`s of the driver layer not yet `put`. */
  mounts: number;
}

/** A read-only layer as the rest of core sees it. */
export interface LayerInfo {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  /** Bytes this layer's diff wrote. */
  size: number;
  /** Sum of `size` over the layer and everything below it. */
  chainSize: number;
  /** Number of layers in the stack ending here. */
  depth: number;
}

/** One reference to a layer; `release` gives it back (once). */
export interface LayerHandle {
  readonly chainId: Digest;
  readonly diffId: Digest;
  /** Returns the chain ids of layers this release deleted. */
  release(): Promise<Digest[]>;
}

export interface LayerStoreOptions {
  /** `<data-root>/image/<driver>/layerdb`. */
  root: string;
  driver: DiffGraphDriver;
  logger: Logger;
}

/** Problems found while opening; the records named were left on disk and not loaded. */
export interface LayerStoreOpenReport {
  bad: BadRecord[];
}

const depthOf = (layer: RoLayer | null): number => {
  let depth = 0;
  for (let l = layer; l; l = l.parent) depth++;
  return depth;
};

export class LayerStore {
  readonly #db: LayerDb;
  readonly #driver: DiffGraphDriver;
  readonly #logger: Logger;
  readonly #layers = new Map<Digest, RoLayer>();
  readonly #rw = new Map<string, RwLayer>();
  /** Guards the layer map and reference counts across awaits. */
  readonly #lock = new Mutex();
  /** Serialises operations on one container's read-write layer. */
  readonly #rwLocks = new KeyedMutex<string>();

  constructor(options: LayerStoreOptions) {
    this.#db = new LayerDb(options.root);
    this.#driver = options.driver;
    this.#logger = options.logger;
  }

  get driverName(): string {
    return this.#driver.name;
  }

  /**
   * Loads `layerdb`: finishes or undoes transactions a crash interrupted, then restores layers
   * and read-write layers. Unreadable records (and layers whose parent is unreadable) are
   * logged, reported and skipped.
   */
  async open(): Promise<LayerStoreOpenReport> {
    await this.#db.init();
    const sweep = await this.#db.sweepTransactions();
    for (const id of sweep.driverIds) {
      await this.#driver.remove(id).catch((err: unknown) => {
        this.#logger.warn('could not remove a layer left by an interrupted operation', {
          id,
          error: String(err),
        });
      });
    }
    await sweep.finish();

    const { layers, bad } = await this.#db.loadLayers();
    const records = new Map(layers.map((l) => [l.chainId, l]));
    const resolving = new Set<Digest>();
    const load = (chainId: Digest): RoLayer | null => {
      const done = this.#layers.get(chainId);
      if (done) return done;
      const record = records.get(chainId);
      if (!record || resolving.has(chainId)) return null;
      resolving.add(chainId);
      const parent = record.parent ? load(record.parent) : null;
      resolving.delete(chainId);
      if (record.parent && !parent) {
        bad.push({
          path: `${this.#db.layersDir}/${chainId.slice(7)}`,
          reason: `parent ${record.parent} is missing`,
        });
        records.delete(chainId);
        return null;
      }
      const expected = createChainId(parent ? parent.chainId : null, record.diffId);
      if (expected !== chainId) {
        bad.push({
          path: `${this.#db.layersDir}/${chainId.slice(7)}`,
          reason: `chain id does not match ${expected}`,
        });
        records.delete(chainId);
        return null;
      }
      const layer: RoLayer = { ...record, parent, refs: 0 };
      if (parent) parent.refs++;
      this.#layers.set(chainId, layer);
      return layer;
    };
    for (const chainId of records.keys()) load(chainId);

    const mounts = await this.#db.loadMounts();
    bad.push(...mounts.bad);
    for (const m of mounts.mounts) {
      const parent = m.parent ? (this.#layers.get(m.parent) ?? null) : null;
      if (m.parent && !parent) {
        bad.push({
          path: `${this.#db.mountsDir}/${m.containerId}`,
          reason: `parent layer ${m.parent} is missing`,
        });
        continue;
      }
      if (parent) parent.refs++;
      this.#rw.set(m.containerId, { ...m, parent, mounts: 0 });
    }
    for (const b of bad) this.#logger.error('skipping unreadable layer store record', { ...b });
    return { bad };
  }

  /**
   * Deletes read-only layers nobody holds (left behind by a crash between creating a layer and
   * the image using it). Call after every holder (images, read-write layers) has been restored.
   */
  async collectGarbage(): Promise<Digest[]> {
    return this.#lock.run(async () => {
      const removed: Digest[] = [];
      for (const layer of [...this.#layers.values()]) {
        if (layer.refs === 0 && this.#layers.has(layer.chainId)) {
          layer.refs = 1;
          removed.push(...(await this.#releaseLocked(layer)));
        }
      }
      if (removed.length > 0) this.#logger.info('removed unreferenced layers', { layers: removed });
      return removed;
    });
  }

  has(chainId: Digest): boolean {
    return this.#layers.has(chainId);
  }

  get(chainId: Digest): LayerInfo | undefined {
    const layer = this.#layers.get(chainId);
    return layer ? this.#info(layer) : undefined;
  }

  #info(layer: RoLayer): LayerInfo {
    let chainSize = 0;
    let depth = 0;
    for (let l: RoLayer | null = layer; l; l = l.parent) {
      chainSize += l.size;
      depth++;
    }
    return {
      chainId: layer.chainId,
      diffId: layer.diffId,
      parent: layer.parent?.chainId ?? null,
      size: layer.size,
      chainSize,
      depth,
    };
  }

  /** Takes one more reference on `chainId` (which must exist). */
  acquire(chainId: Digest): LayerHandle {
    const layer = this.#layers.get(chainId);
    if (!layer) throw notFound(`layer ${chainId} does not exist`);
    layer.refs++;
    return this.#handle(layer);
  }

  #handle(layer: RoLayer): LayerHandle {
    let released = false;
    return {
      chainId: layer.chainId,
      diffId: layer.diffId,
      release: async () => {
        if (released) return [];
        released = true;
        return this.#lock.run(() => this.#releaseLocked(layer));
      },
    };
  }

  /** Drops one reference; deletes the layer (and then its parent, …) when none remain. */
  async #releaseLocked(start: RoLayer): Promise<Digest[]> {
    const removed: Digest[] = [];
    for (let layer: RoLayer | null = start; layer; layer = layer.parent) {
      if (layer.refs <= 0) throw internal(`layer ${layer.chainId} released more often than it was taken`);
      layer.refs--;
      if (layer.refs > 0) break;
      // Out of the map first: a failed delete must not leave a half-removed layer usable.
      this.#layers.delete(layer.chainId);
      const retired = await this.#db.retireLayer(layer.chainId);
      await this.#driver.remove(layer.cacheId);
      await this.#db.removeRetired(retired);
      removed.push(layer.chainId);
    }
    return removed;
  }

  /**
   * Applies the uncompressed layer tar `tar` on top of `parent` (null for a base layer) and
   * returns a handle on the resulting layer. A layer with the same chain id that already exists
   * is reused; the new copy is discarded. On any failure nothing is left behind.
   */
  async register(tar: Readable, parent: Digest | null): Promise<LayerHandle> {
    const parentLayer = await this.#lock
      .run(() => {
        if (parent === null) return null;
        const p = this.#layers.get(parent);
        if (!p) throw notFound(`layer ${parent} does not exist`);
        if (depthOf(p) >= MAX_LAYER_DEPTH)
          throw invalidArgument(`max depth exceeded (${MAX_LAYER_DEPTH} layers)`);
        p.refs++;
        return p;
      })
      .catch((err: unknown) => {
        tar.destroy();
        throw err;
      });
    const cacheId = generateId();
    let tx: Awaited<ReturnType<LayerDb['beginLayer']>> | null = null;
    // Undoes everything this call made; on success the parent reference moves to the new layer.
    const undo = async () => {
      // Also after a failed `create`, which may leave a partial layer (missing is not an error).
      await this.#driver.remove(cacheId).catch((err: unknown) => {
        this.#logger.warn('could not remove a discarded layer', { cacheId, error: String(err) });
      });
      await tx?.cancel().catch(() => {});
      if (parentLayer) await this.#lock.run(() => this.#releaseLocked(parentLayer));
    };
    let result: { layer: RoLayer; reused: boolean };
    try {
      tx = await this.#db.beginLayer(cacheId);
      const parentCacheId = parentLayer?.cacheId ?? null;
      await this.#driver.create(cacheId, parentCacheId);
      const applied = await applyAndDigest(tar, (input) =>
        this.#driver.applyDiff(cacheId, parentCacheId, input),
      );
      const chainId = createChainId(parent, applied.diffId);
      const openTx = tx;
      result = await this.#lock.run(async () => {
        const existing = this.#layers.get(chainId);
        if (existing) {
          existing.refs++;
          return { layer: existing, reused: true };
        }
        await this.#db.commitLayer(openTx, {
          chainId,
          diffId: applied.diffId,
          size: applied.size,
          cacheId,
          parent,
        });
        const layer: RoLayer = {
          chainId,
          diffId: applied.diffId,
          parent: parentLayer,
          cacheId,
          size: applied.size,
          refs: 1,
        };
        this.#layers.set(chainId, layer);
        return { layer, reused: false };
      });
    } catch (err) {
      tar.destroy();
      await undo();
      throw err;
    }
    // An identical layer already existed: keep it, drop the copy just made.
    if (result.reused) await undo();
    return this.#handle(result.layer);
  }

  // -------------------------------------------------------------------------------------------
  // Read-write layers
  // -------------------------------------------------------------------------------------------

  hasRW(containerId: string): boolean {
    return this.#rw.has(containerId);
  }

  #rwLayer(containerId: string): RwLayer {
    const rw = this.#rw.get(containerId);
    if (!rw) throw notFound(`no read-write layer for container ${containerId}`);
    return rw;
  }

  /**
   * Creates container `containerId`'s read-write layer on top of `parent` (a chain id, or null
   * for an empty rootfs). `init` fills the `<mount-id>-init` layer (Docker's init layer: mount
   * points for /etc/hosts and friends) before the writable layer is made on top of it.
   */
  async createRW(
    containerId: string,
    parent: Digest | null,
    init?: (initRoot: string) => Promise<void>,
  ): Promise<void> {
    if (!isContainerId(containerId))
      throw invalidArgument(`invalid container id ${JSON.stringify(containerId)}`);
    await this.#rwLocks.run(containerId, async () => {
      const parentLayer = await this.#lock.run(() => {
        if (this.#rw.has(containerId))
          throw conflict(`read-write layer for container ${containerId} already exists`);
        if (parent === null) return null;
        const p = this.#layers.get(parent);
        if (!p) throw notFound(`layer ${parent} does not exist`);
        p.refs++;
        return p;
      });
      const mountId = generateId();
      const initId = init ? `${mountId}-init` : null;
      const created: string[] = [];
      let tx: Awaited<ReturnType<LayerDb['beginMount']>> | null = null;
      try {
        tx = await this.#db.beginMount(mountId, initId);
        let below = parentLayer?.cacheId ?? null;
        if (initId && init) {
          await this.#driver.createReadWrite(initId, below);
          created.push(initId);
          const root = await this.#driver.get(initId);
          try {
            await init(root);
          } finally {
            await this.#driver.put(initId);
          }
          below = initId;
        }
        await this.#driver.createReadWrite(mountId, below);
        created.push(mountId);
        await this.#db.commitMount(tx, { containerId, mountId, initId, parent });
        this.#rw.set(containerId, { containerId, mountId, initId, parent: parentLayer, mounts: 0 });
      } catch (err) {
        for (const id of created.reverse()) {
          await this.#driver.remove(id).catch((e: unknown) => {
            this.#logger.warn('could not remove a discarded layer', { id, error: String(e) });
          });
        }
        await tx?.cancel().catch(() => {});
        if (parentLayer) await this.#lock.run(() => this.#releaseLocked(parentLayer));
        throw err;
      }
    });
  }

  /** Mounts the read-write layer and returns the rootfs path; each call needs an `unmountRW`. */
  async mountRW(containerId: string): Promise<string> {
    return this.#rwLocks.run(containerId, async () => {
      const rw = this.#rwLayer(containerId);
      const path = await this.#driver.get(rw.mountId);
      rw.mounts++;
      return path;
    });
  }

  /** Releases one `mountRW`. Unmounting a layer that is not mounted does nothing. */
  async unmountRW(containerId: string): Promise<void> {
    await this.#rwLocks.run(containerId, async () => {
      const rw = this.#rwLayer(containerId);
      if (rw.mounts === 0) return;
      await this.#driver.put(rw.mountId);
      rw.mounts--;
    });
  }

  /**
   * Deletes the read-write layer (releasing mounts still held) and drops its reference on the
   * layer below; returns the read-only layers that went with it. Missing is not an error.
   */
  async removeRW(containerId: string): Promise<Digest[]> {
    return this.#rwLocks.run(containerId, async () => {
      const rw = this.#rw.get(containerId);
      if (!rw) return [];
      while (rw.mounts > 0) {
        await this.#driver.put(rw.mountId);
        rw.mounts--;
      }
      return this.#lock.run(async () => {
        this.#rw.delete(containerId);
        const retired = await this.#db.retireMount(containerId);
        await this.#driver.remove(rw.mountId);
        if (rw.initId) await this.#driver.remove(rw.initId);
        await this.#db.removeRetired(retired);
        return rw.parent ? this.#releaseLocked(rw.parent) : [];
      });
    });
  }

  /** The chain id below a container's read-write layer. */
  rwParent(containerId: string): Digest | null {
    return this.#rwLayer(containerId).parent?.chainId ?? null;
  }

  /** The driver id the container's own changes are measured against (init layer or image). */
  #rwBase(rw: RwLayer): string | null {
    return rw.initId ?? rw.parent?.cacheId ?? null;
  }

  /** `docker diff`: what the container changed. */
  async rwChanges(containerId: string): Promise<Change[]> {
    const rw = this.#rwLayer(containerId);
    return this.#driver.changes(rw.mountId, this.#rwBase(rw));
  }

  /** A tar of what the container changed (for commit). */
  async rwDiff(containerId: string): Promise<Readable> {
    const rw = this.#rwLayer(containerId);
    return this.#driver.diff(rw.mountId, this.#rwBase(rw));
  }

  /** `SizeRw` and `SizeRootFs` of `docker ps -s` / inspect `--size`. */
  async rwSize(containerId: string): Promise<{ sizeRw: number; sizeRootFs: number }> {
    const rw = this.#rwLayer(containerId);
    const sizeRw = await this.#driver.diffSize(rw.mountId, this.#rwBase(rw));
    const below = rw.parent ? this.#info(rw.parent).chainSize : 0;
    return { sizeRw, sizeRootFs: sizeRw + below };
  }
}
