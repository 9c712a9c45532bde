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
import { createReadStream } from 'node:fs';
import { type FileHandle, link, open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { decompressStream, detectCompression } from '../archive/compression.js';
import type { Logger } from '../drivers/descriptor.js';
import type { Change, DiffGraphDriver } from '../drivers/graph-driver.js';
import { conflict, internal, invalidArgument, notFound, notSupported } from '../errors.js';
import { generateId } from '../store/id-index.js';
import { KeyedMutex, Mutex } from '../store/mutex.js';
import { type AppliedDiff, applyAndDigest } from './apply-diff.js';
import { createChainId } from './chain-id.js';
import type { Digest } from './digest.js';
import { type BadRecord, isContainerId, LAYER_TAR_FILE, LayerDb } from './layerdb.js';

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

export interface RegisterOptions {
  /**
   * Called with the diff id once the layer has been applied and before it is stored; throwing
   * refuses the layer and nothing is kept (`docker load` checks the diff id its config names).
   */
  verify?: (diffId: Digest) => void;
}

/**
 * How `register*` and `prepareBase` make a layer: apply it with `apply`, leave the exact
 * uncompressed tar at `keepAt`, and say what was applied.
 */
export type ProduceLayer = (
  keepAt: string,
  apply: (input: Readable) => Promise<number>,
) => Promise<AppliedDiff>;

/** A layer applied by `prepareBase` and not stored yet. */
export interface PreparedLayer {
  readonly diffId: Digest;
  /** What the driver reported writing. */
  readonly size: number;
}

type LayerTransaction = Awaited<ReturnType<LayerDb['beginLayer']>>;

class Prepared implements PreparedLayer {
  /** Committed or discarded: the driver layer and the transaction belong to the store again. */
  taken = false;
  constructor(
    readonly cacheId: string,
    readonly tx: LayerTransaction,
    readonly applied: AppliedDiff,
  ) {}
  get diffId(): Digest {
    return this.applied.diffId;
  }
  get size(): number {
    return this.applied.size;
  }
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

async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Passes `source` through, writing every chunk to `file` first. */
async function* copyingTo(source: Readable, file: FileHandle): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    await writeAll(file, chunk as Buffer);
    yield chunk as Buffer;
  }
}

/**
 * Applies `source` (an uncompressed tar) and writes the same bytes to a new file `keepAt`. The
 * copy is not fsynced: a copy a crash tore no longer matches the diff id, which `docker save`
 * checks while it streams.
 */
export async function applyKeepingCopy(
  source: Readable,
  keepAt: string,
  apply: (input: Readable) => Promise<number>,
): Promise<AppliedDiff> {
  let file: FileHandle;
  try {
    file = await open(keepAt, 'wx', 0o600);
  } catch (err) {
    source.destroy();
    throw err;
  }
  try {
    return await applyAndDigest(Readable.from(copyingTo(source, file), { objectMode: false }), apply);
  } finally {
    await file.close();
  }
}

/** The compression of the file's content, from its first bytes. */
async function compressionOfFile(path: string): Promise<ReturnType<typeof detectCompression>> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

/** Hard-links `from` to `to`; false when they are on different filesystems. */
async function linkIfSameFilesystem(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EXDEV') return false;
    throw err;
  }
}

/** Reads `path`, telling `onRead` the running total of bytes read. */
function readCounting(path: string, onRead?: (bytes: number) => void): Readable {
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  if (!onRead) return stream;
  return Readable.from(
    (async function* () {
      let total = 0;
      for await (const chunk of stream) {
        total += (chunk as Buffer).length;
        onRead(total);
        yield chunk as Buffer;
      }
    })(),
    { objectMode: false },
  );
}

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

  /** Drops one reference; deletes the layer (and then its parent, and so on) when none remain. */
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
   * is reused; the new copy is discarded. On any failure nothing is left behind. The tar is kept
   * beside the layer record (`layer.tar`) for `docker save`.
   */
  async register(tar: Readable, parent: Digest | null, opts: RegisterOptions = {}): Promise<LayerHandle> {
    return this.#register(
      parent,
      opts,
      (keepAt, apply) => applyKeepingCopy(tar, keepAt, apply),
      () => tar.destroy(),
    );
  }

  /**
   * `register` from a file holding the layer tar, plain or compressed (gzip, zstd), which is left
   * where it is. A plain tar becomes the kept copy by a hard link instead of being written again.
   * `onRead` is told how many bytes of the file have been read so far (progress).
   */
  async registerFile(
    file: string,
    parent: Digest | null,
    opts: RegisterOptions & {
      onRead?: (bytes: number) => void;
      /** The sha256 of the file, computed by this process while it wrote the file (not trusted input). */
      fileDigest?: Digest;
    } = {},
  ): Promise<LayerHandle> {
    return this.#register(
      parent,
      opts,
      async (keepAt, apply) => {
        if ((await compressionOfFile(file)) === 'none' && (await linkIfSameFilesystem(file, keepAt))) {
          // A plain tar's own digest is its diff id: no need to hash it a second time.
          return applyAndDigest(readCounting(keepAt, opts.onRead), apply, { knownDigest: opts.fileDigest });
        }
        return applyKeepingCopy(decompressStream(readCounting(file, opts.onRead)), keepAt, apply);
      },
      () => {},
    );
  }

  /**
   * The common part of `register*`: `produce` applies the layer with `apply`, leaving the exact
   * uncompressed tar at `keepAt`; `abandon` releases the input when the layer cannot be made.
   */
  async #register(
    parent: Digest | null,
    opts: RegisterOptions,
    produce: ProduceLayer,
    abandon: () => void,
  ): Promise<LayerHandle> {
    const parentLayer = await this.#acquireParent(parent).catch((err: unknown) => {
      abandon();
      throw err;
    });
    const cacheId = generateId();
    let tx: LayerTransaction | null = null;
    // Undoes everything this call made; on success the parent reference moves to the new layer.
    const undo = () => this.#undoLayer(cacheId, tx, parentLayer);
    let result: { layer: RoLayer; reused: boolean };
    try {
      tx = await this.#db.beginLayer(cacheId);
      const parentCacheId = parentLayer?.cacheId ?? null;
      await this.#driver.create(cacheId, parentCacheId);
      const applied = await produce(tx.path(LAYER_TAR_FILE), (input) =>
        this.#driver.applyDiff(cacheId, parentCacheId, input),
      );
      opts.verify?.(applied.diffId);
      result = await this.#commit(tx, cacheId, parentLayer, applied);
    } catch (err) {
      abandon();
      await undo();
      throw err;
    }
    // An identical layer already existed: keep it, drop the copy just made.
    if (result.reused) await undo();
    return this.#handle(result.layer);
  }

  /**
   * Whether layers can be applied before their parent is known (`prepareBase`): the driver
   * offers `setParent`.
   */
  get canPrepare(): boolean {
    return typeof this.#driver.setParent === 'function';
  }

  /**
   * Applies a layer as a base layer without storing it: `docker load` does this while the
   * archive is still arriving, before the archive says which layer is below. `produce` is as for
   * `register`. The result is the caller's to `commitPrepared` or `discardPrepared`; until then
   * it is a transaction in progress, which a crash leaves for `open` to sweep.
   */
  async prepareBase(produce: ProduceLayer): Promise<PreparedLayer> {
    if (!this.canPrepare)
      throw notSupported(`the ${this.#driver.name} storage driver cannot apply a layer before its parent`);
    const cacheId = generateId();
    let tx: LayerTransaction | null = null;
    try {
      tx = await this.#db.beginLayer(cacheId);
      await this.#driver.create(cacheId, null);
      const applied = await produce(tx.path(LAYER_TAR_FILE), (input) =>
        this.#driver.applyDiff(cacheId, null, input),
      );
      return new Prepared(cacheId, tx, applied);
    } catch (err) {
      await this.#undoLayer(cacheId, tx, null);
      throw err;
    }
  }

  /**
   * Stores a prepared layer on top of `parent` (null: as the base layer it was applied as), as
   * `register` would have. On failure, and when an identical layer exists already (which is
   * then the one returned), the prepared layer is removed: it can be committed once.
   */
  async commitPrepared(
    prepared: PreparedLayer,
    parent: Digest | null,
    opts: RegisterOptions = {},
  ): Promise<LayerHandle> {
    const own = this.#take(prepared);
    let parentLayer: RoLayer | null = null;
    const undo = () => this.#undoLayer(own.cacheId, own.tx, parentLayer);
    let result: { layer: RoLayer; reused: boolean };
    try {
      opts.verify?.(own.diffId);
      parentLayer = await this.#acquireParent(parent);
      if (parentLayer) {
        const setParent = this.#driver.setParent;
        if (!setParent) throw internal('the storage driver cannot move a layer onto its parent');
        await setParent.call(this.#driver, own.cacheId, parentLayer.cacheId);
      }
      result = await this.#commit(own.tx, own.cacheId, parentLayer, own.applied);
    } catch (err) {
      await undo();
      throw err;
    }
    if (result.reused) await undo();
    return this.#handle(result.layer);
  }

  /** Removes a prepared layer that will not be committed. Idempotent. */
  async discardPrepared(prepared: PreparedLayer): Promise<void> {
    if (!(prepared instanceof Prepared) || prepared.taken) return;
    const own = this.#take(prepared);
    await this.#undoLayer(own.cacheId, own.tx, null);
  }

  #take(prepared: PreparedLayer): Prepared {
    if (!(prepared instanceof Prepared)) throw internal('not a prepared layer of this store');
    if (prepared.taken)
      throw internal(`the prepared layer ${prepared.diffId} was committed or discarded already`);
    prepared.taken = true;
    return prepared;
  }

  /** Takes a reference on `parent` (null: none) for a layer about to be stored on it. */
  #acquireParent(parent: Digest | null): Promise<RoLayer | null> {
    return this.#lock.run(() => {
      if (parent === null) return null;
      const p = this.#layers.get(parent);
      if (!p) throw notFound(`layer ${parent} does not exist`);
      if (depthOf(p) >= MAX_LAYER_DEPTH)
        throw invalidArgument(`max depth exceeded (${MAX_LAYER_DEPTH} layers)`);
      p.refs++;
      return p;
    });
  }

  /**
   * Stores the applied driver layer `cacheId` as the layer on `parentLayer`, unless one with the
   * same chain id exists: that one gains a reference and is returned as `reused` (the caller
   * then removes its copy).
   */
  #commit(
    tx: LayerTransaction,
    cacheId: string,
    parentLayer: RoLayer | null,
    applied: AppliedDiff,
  ): Promise<{ layer: RoLayer; reused: boolean }> {
    const parent = parentLayer?.chainId ?? null;
    const chainId = createChainId(parent, applied.diffId);
    return this.#lock.run(async () => {
      const existing = this.#layers.get(chainId);
      if (existing) {
        existing.refs++;
        // A layer stored before tars were kept gets this one.
        await this.#db.adoptLayerTar(tx, chainId).catch((err: unknown) => {
          this.#logger.warn('could not keep the tar of an existing layer', { chainId, error: String(err) });
        });
        return { layer: existing, reused: true };
      }
      await this.#db.commitLayer(tx, {
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
  }

  /** Removes a driver layer that was not (or is no longer to be) stored, and what it held. */
  async #undoLayer(cacheId: string, tx: LayerTransaction | null, parentLayer: RoLayer | null): Promise<void> {
    // Also after a failed `create`, which may leave a partial layer (missing is not an error).
    await this.#driver.remove(cacheId).catch((err: unknown) => {
      this.#logger.warn('could not remove a discarded layer', { cacheId, error: String(err) });
    });
    await tx?.cancel().catch(() => {});
    if (parentLayer) await this.#lock.run(() => this.#releaseLocked(parentLayer));
  }

  /**
   * Where the exact uncompressed tar of layer `chainId` is kept and how long it is (its sha256 is
   * the diff id), or null for a layer stored before tars were kept. The caller must hold a
   * reference on the layer while it reads the file.
   */
  async layerTar(chainId: Digest): Promise<{ path: string; size: number } | null> {
    if (!this.#layers.has(chainId)) throw notFound(`layer ${chainId} does not exist`);
    const path = this.#db.layerTarPath(chainId);
    try {
      const st = await stat(path);
      return { path, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /**
   * A private scratch directory inside the layer store (same filesystem, so files in it can be
   * hard-linked into layers). The caller removes it; one a crash leaves is removed by `open`.
   */
  makeScratchDir(label: string): Promise<string> {
    return this.#db.makeScratchDir(label);
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
        tx = await this.#db.beginMount(mountId, initId, parent);
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
        await this.#db.commitMount(tx, containerId);
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
