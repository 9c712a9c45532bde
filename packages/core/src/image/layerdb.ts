/**
 * The layer store's files, in Docker's layout under `<data-root>/image/<driver>/layerdb/`:
 *
 *   sha256/<chain-id hex>/{diff, size, cache-id, parent}   one read-only layer
 *   sha256/<chain-id hex>/layer.tar                         its uncompressed layer tar, byte for byte
 *   mounts/<container id>/{mount-id, init-id, parent}       one container's read-write layer
 *   tmp/                                                    transactions in progress
 *
 * A record is written into a fresh directory under `tmp/` and renamed into place, so it appears
 * whole or not at all; a delete renames it back into `tmp/` first. The driver layer id is the
 * first file written, so a directory a crash leaves in `tmp/` names the driver layers to remove
 * (`sweepTransactions`).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../store/atomic-file.js';
import { type Digest, digestHex, isHex64, isSha256Digest } from './digest.js';

/**
 * The exact uncompressed tar a layer was made from, kept beside its record so `docker save` can
 * write the layer back byte for byte (its sha256 is the diff id). moby keeps tar-split metadata
 * and re-reads file contents from the driver instead; we trade disk space for certainty (see
 * docs/architecture.md, "Layer tars"). Layers stored before this file existed have none.
 */
export const LAYER_TAR_FILE = 'layer.tar';

/** What `sha256/<hex>/` records about a read-only layer. */
export interface LayerRecord {
  chainId: Digest;
  diffId: Digest;
  /** Bytes the layer's diff wrote (moby's `size`). */
  size: number;
  /** The graph driver's id for the layer. */
  cacheId: string;
  parent: Digest | null;
}

/** What `mounts/<id>/` records about a container's read-write layer. */
export interface MountRecord {
  containerId: string;
  /** The driver id of the writable layer. */
  mountId: string;
  /** The driver id of the `<mount-id>-init` layer, when the container has one. */
  initId: string | null;
  /** Chain id of the read-only layer below, or null for an empty rootfs. */
  parent: Digest | null;
}

/** A record that could not be read back; left on disk untouched, for an operator to look at. */
export interface BadRecord {
  path: string;
  reason: string;
}

/** Driver ids are cache ids (64 hex) or init layers (`<64 hex>-init`); nothing else reaches a driver. */
export function isDriverLayerId(id: string): boolean {
  return /^[a-f0-9]{64}(-init)?$/.test(id);
}

/** Container ids are 64 lowercase hex. */
export function isContainerId(id: string): boolean {
  return isHex64(id);
}

const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

async function writeSynced(path: string, content: string): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** A record being written in `tmp/`; `commit` renames it into place, `cancel` removes it. */
export class RecordTransaction {
  #open = true;

  constructor(
    private readonly db: LayerDb,
    readonly dir: string,
  ) {}

  async write(name: string, content: string): Promise<void> {
    await writeSynced(join(this.dir, name), content);
  }

  /** Where file `name` of the record goes while the transaction is open. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Moves the record to `target` (which must not exist) durably. */
  async commitTo(target: string, parentDir: string): Promise<void> {
    await fsyncDir(this.dir);
    await rename(this.dir, target);
    this.#open = false;
    // The record is in place and complete; a failing directory fsync only weakens durability
    // of the rename, so it must not make the caller undo a record that now exists.
    // Both at once: a journaling filesystem commits them together, so the second costs nothing.
    await Promise.all([fsyncDir(parentDir).catch(() => {}), fsyncDir(this.db.tmpDir).catch(() => {})]);
  }

  async cancel(): Promise<void> {
    if (!this.#open) return;
    await rm(this.dir, { recursive: true, force: true });
    this.#open = false;
  }
}

export class LayerDb {
  readonly layersDir: string;
  readonly mountsDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.layersDir = join(root, 'sha256');
    this.mountsDir = join(root, 'mounts');
    this.tmpDir = join(root, 'tmp');
  }

  async init(): Promise<void> {
    for (const dir of [this.layersDir, this.mountsDir, this.tmpDir])
      await mkdir(dir, { recursive: true, mode: 0o700 });
  }

  async #begin(kind: string): Promise<RecordTransaction> {
    const dir = join(this.tmpDir, `${kind}-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    return new RecordTransaction(this, dir);
  }

  /** Starts a layer record; `cache-id` is written first so a crash can be cleaned up. */
  async beginLayer(cacheId: string): Promise<RecordTransaction> {
    const tx = await this.#begin('write-set');
    try {
      await tx.write('cache-id', cacheId);
    } catch (err) {
      await tx.cancel();
      throw err;
    }
    return tx;
  }

  /** Writes the remaining files of a layer record and renames it to `sha256/<chain hex>`. */
  async commitLayer(tx: RecordTransaction, record: LayerRecord): Promise<void> {
    await tx.write('diff', record.diffId);
    await tx.write('size', String(record.size));
    if (record.parent) await tx.write('parent', record.parent);
    await tx.commitTo(join(this.layersDir, digestHex(record.chainId)), this.layersDir);
  }

  /** The kept layer tar of layer `chainId` (see LAYER_TAR_FILE); it may not exist. */
  layerTarPath(chainId: Digest): string {
    return join(this.layersDir, digestHex(chainId), LAYER_TAR_FILE);
  }

  /**
   * Gives an existing layer record that has no kept tar the one written in `tx` (a layer stored
   * before tars were kept, registered again). link(2) never replaces a file, so a tar already
   * there stays.
   */
  async adoptLayerTar(tx: RecordTransaction, chainId: Digest): Promise<void> {
    try {
      await link(tx.path(LAYER_TAR_FILE), this.layerTarPath(chainId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw err;
    }
    await fsyncDir(join(this.layersDir, digestHex(chainId))).catch(() => {});
  }

  /**
   * A fresh private directory under `tmp/` for scratch files (an archive being loaded). It is
   * the caller's to remove; one a crash leaves behind goes with the next `sweepTransactions`.
   * Names inside must never be `cache-id`, `mount-id` or `init-id`, which the sweep reads.
   */
  async makeScratchDir(label: string): Promise<string> {
    const dir = join(this.tmpDir, `${label}-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /**
   * Starts a mount record with the driver ids (written before the driver layers exist) and the
   * parent chain id (known from the start, so its fsync overlaps theirs).
   */
  async beginMount(
    mountId: string,
    initId: string | null,
    parent: Digest | null,
  ): Promise<RecordTransaction> {
    const tx = await this.#begin('mount');
    try {
      // Independent files: their fsyncs overlap instead of queueing.
      await Promise.all([
        tx.write('mount-id', mountId),
        initId ? tx.write('init-id', initId) : null,
        parent ? tx.write('parent', parent) : null,
      ]);
    } catch (err) {
      await tx.cancel();
      throw err;
    }
    return tx;
  }

  /** Finishes a mount record (begun with all its files) and renames it to `mounts/<container id>`. */
  async commitMount(tx: RecordTransaction, containerId: string): Promise<void> {
    await tx.commitTo(join(this.mountsDir, containerId), this.mountsDir);
  }

  /** Moves a record out of sight into `tmp/` and returns where it went (to remove afterwards). */
  async #retire(dir: string, parentDir: string): Promise<string | null> {
    const target = join(this.tmpDir, `delete-${randomBytes(8).toString('hex')}`);
    try {
      await rename(dir, target);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    await fsyncDir(parentDir);
    return target;
  }

  retireLayer(chainId: Digest): Promise<string | null> {
    return this.#retire(join(this.layersDir, digestHex(chainId)), this.layersDir);
  }

  retireMount(containerId: string): Promise<string | null> {
    return this.#retire(join(this.mountsDir, containerId), this.mountsDir);
  }

  async removeRetired(dir: string | null): Promise<void> {
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  /** Reads every layer record; unreadable ones are reported, not thrown. */
  async loadLayers(): Promise<{ layers: LayerRecord[]; bad: BadRecord[] }> {
    const layers: LayerRecord[] = [];
    const bad: BadRecord[] = [];
    for (const name of await readdir(this.layersDir)) {
      const dir = join(this.layersDir, name);
      try {
        layers.push(await this.#readLayer(name, dir));
      } catch (err) {
        bad.push({ path: dir, reason: (err as Error).message });
      }
    }
    return { layers, bad };
  }

  async #readLayer(name: string, dir: string): Promise<LayerRecord> {
    if (!isHex64(name)) throw new Error('not a chain id');
    const chainId = `sha256:${name}` as Digest;
    const diffId = (await readFile(join(dir, 'diff'), 'utf8')).trim();
    const sizeText = (await readFile(join(dir, 'size'), 'utf8')).trim();
    const cacheId = (await readFile(join(dir, 'cache-id'), 'utf8')).trim();
    const parent = (await readOptional(join(dir, 'parent')))?.trim() || null;
    if (!isSha256Digest(diffId)) throw new Error(`bad diff id ${JSON.stringify(diffId)}`);
    if (!/^\d+$/.test(sizeText)) throw new Error(`bad size ${JSON.stringify(sizeText)}`);
    if (!isDriverLayerId(cacheId)) throw new Error(`bad cache id ${JSON.stringify(cacheId)}`);
    if (parent !== null && !isSha256Digest(parent)) throw new Error(`bad parent ${JSON.stringify(parent)}`);
    return { chainId, diffId, size: Number(sizeText), cacheId, parent };
  }

  /** Reads every mount record; unreadable ones are reported, not thrown. */
  async loadMounts(): Promise<{ mounts: MountRecord[]; bad: BadRecord[] }> {
    const mounts: MountRecord[] = [];
    const bad: BadRecord[] = [];
    for (const name of await readdir(this.mountsDir)) {
      const dir = join(this.mountsDir, name);
      try {
        if (!isContainerId(name)) throw new Error('not a container id');
        const mountId = (await readFile(join(dir, 'mount-id'), 'utf8')).trim();
        const initId = (await readOptional(join(dir, 'init-id')))?.trim() || null;
        const parent = (await readOptional(join(dir, 'parent')))?.trim() || null;
        if (!isDriverLayerId(mountId)) throw new Error(`bad mount id ${JSON.stringify(mountId)}`);
        if (initId !== null && !isDriverLayerId(initId))
          throw new Error(`bad init id ${JSON.stringify(initId)}`);
        if (parent !== null && !isSha256Digest(parent))
          throw new Error(`bad parent ${JSON.stringify(parent)}`);
        mounts.push({ containerId: name, mountId, initId, parent });
      } catch (err) {
        bad.push({ path: dir, reason: (err as Error).message });
      }
    }
    return { mounts, bad };
  }

  /**
   * Empties `tmp/`: returns the driver layer ids named by interrupted transactions so the caller
   * can remove them from the driver first; `finish` then deletes the directories.
   */
  async sweepTransactions(): Promise<{ driverIds: string[]; finish: () => Promise<void> }> {
    const driverIds: string[] = [];
    const dirs: string[] = [];
    for (const name of await readdir(this.tmpDir)) {
      const dir = join(this.tmpDir, name);
      dirs.push(dir);
      for (const file of ['cache-id', 'mount-id', 'init-id']) {
        const id = (await readOptional(join(dir, file)).catch(() => null))?.trim();
        if (id && isDriverLayerId(id)) driverIds.push(id);
      }
    }
    return {
      driverIds,
      finish: async () => {
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
