/**
 * The vfs graph driver (moby's daemon/graphdriver/vfs): every layer is a plain directory holding
 * a full copy of its parent plus its own changes, under `<home>/dir/<id>` as in Docker. Nothing is
 * mounted, so it works on any filesystem, at the cost of disk space and copy time per layer.
 *
 * A layer is built in `<home>/staging` and renamed into place, so a layer that `exists` is always
 * complete; a removed one is renamed out of the way first, so it stops existing at once even when
 * deleting a large tree takes a while or fails half-way.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  alreadyExists,
  type CreateLayerOptions,
  conflict,
  type GraphDriver,
  invalidArgument,
  notFound,
} from '@tsdocker/core';
import { backingFilesystem } from './backing-fs.js';
import { copyTree } from './copy-tree.js';
import { assertLayerId } from './layer-id.js';

const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export class VfsDriver implements GraphDriver {
  readonly name = 'vfs';
  /** Outstanding `get`s per layer. Nothing is mounted; the count only checks get/put pairing. */
  private readonly refs = new Map<string, number>();
  /** Ids being created right now, so that two concurrent creates of one id cannot both succeed. */
  private readonly creating = new Set<string>();

  private constructor(
    private readonly home: string,
    private readonly backingFs: string,
  ) {}

  /** Opens the driver's directory `home` (created if needed) and clears what a crash left in staging. */
  static async open(home: string): Promise<VfsDriver> {
    await mkdir(join(home, 'dir'), { recursive: true, mode: 0o700 });
    await rm(join(home, 'staging'), { recursive: true, force: true });
    await mkdir(join(home, 'staging'), { mode: 0o700 });
    return new VfsDriver(home, await backingFilesystem(home));
  }

  /** Where layer `id` lives. Validates the id first: it becomes a path. */
  layerPath(id: string): string {
    assertLayerId(id);
    return join(this.home, 'dir', id);
  }

  async create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    return this.createLayer(id, parent, opts);
  }

  /** Read-only and read-write layers are the same thing here. */
  async createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    return this.createLayer(id, parent, opts);
  }

  async remove(id: string): Promise<void> {
    const dir = this.layerPath(id);
    const doomed = this.stagingPath(`removing-${id}`);
    try {
      await rename(dir, doomed);
    } catch (err) {
      if (isNotFound(err)) return; // removing a missing layer is fine
      throw err;
    }
    this.refs.delete(id);
    await rm(doomed, { recursive: true, force: true });
  }

  async get(id: string): Promise<string> {
    const dir = this.layerPath(id);
    if (!(await isDirectory(dir))) throw notFound(`layer ${id} does not exist`);
    this.refs.set(id, (this.refs.get(id) ?? 0) + 1);
    return dir;
  }

  async put(id: string): Promise<void> {
    assertLayerId(id);
    const count = this.refs.get(id) ?? 0;
    if (count === 0) throw conflict(`put of layer ${id} without a matching get`);
    if (count === 1) this.refs.delete(id);
    else this.refs.set(id, count - 1);
  }

  async exists(id: string): Promise<boolean> {
    return isDirectory(this.layerPath(id));
  }

  status(): Array<[string, string]> {
    return [['Backing Filesystem', this.backingFs]];
  }

  /** Nothing is mounted; forgets the outstanding gets. */
  async cleanup(): Promise<void> {
    this.refs.clear();
  }

  private stagingPath(label: string): string {
    return join(this.home, 'staging', `${label}-${randomBytes(6).toString('hex')}`);
  }

  private async createLayer(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    const dir = this.layerPath(id);
    const parentDir = parent === null ? null : this.layerPath(parent);
    const storageOpts = Object.keys(opts?.storageOpt ?? {});
    if (storageOpts.length > 0) {
      throw invalidArgument(`vfs supports no per-layer storage options (got ${storageOpts.join(', ')})`);
    }
    if (this.creating.has(id) || (await isDirectory(dir))) throw alreadyExists(`layer ${id} already exists`);
    if (parentDir !== null && !(await isDirectory(parentDir))) {
      throw notFound(`parent layer ${parent} of ${id} does not exist`);
    }

    this.creating.add(id);
    const staging = this.stagingPath(`creating-${id}`);
    try {
      if (parentDir === null) {
        await mkdir(staging);
        await chmod(staging, 0o755); // an empty layer's root, as Docker makes it (umask aside)
      } else {
        await copyTree(parentDir, staging);
      }
      await rename(staging, dir);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    } finally {
      this.creating.delete(id);
    }
  }
}
