/**
 * The overlay2 graph driver, after moby's daemon/graphdriver/overlay2. Layer `<id>` lives in
 * `<home>/<id>/`:
 *
 *   diff/      the layer's own files (the overlay upper directory)
 *   link       its short name: `<home>/l/<link>` is a symlink to `../<id>/diff`
 *   lower      the chain below it, `l/<parent link>:l/<grandparent link>:…` (none for a base)
 *   work/      overlayfs's work directory (layers with a parent)
 *   merged/    where `get` mounts the layer (layers with a parent)
 *   committed  written when a child is created on the layer: from then on it mounts read-only
 *
 * A base layer is its `diff` directory, unmounted. Mounts are reference counted per layer: the
 * first `get` mounts, the last `put` unmounts. Lower chains go through the short links so that
 * even 128 layers fit in the one page of mount options; when absolute paths would not fit, mount
 * runs from `<home>` with relative ones, as moby's mountFrom does.
 *
 * Layers appear whole: they are built in `<home>/.staging` and renamed into place, and removed by
 * being renamed back there first. Opening the driver unmounts whatever a crashed daemon left
 * mounted below `<home>` and clears the scratch directories.
 */
import { randomBytes } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  rmdir,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  alreadyExists,
  type Change,
  type CreateLayerOptions,
  conflict,
  type DiffGraphDriver,
  extractLayer,
  type GraphDriver,
  internal,
  invalidArgument,
  KeyedMutex,
  type Logger,
  notFound,
  notSupported,
  settleAll,
  unavailable,
  withNaiveDiff,
  writeFileAtomic,
} from '@tsdocker/core';
import { assertLayerId, LINK_DIR } from './layer-id.js';
import { generateLinkId, LINK_ID } from './link-id.js';
import {
  closeMountHelper,
  isMountPoint,
  mountOverlay,
  PAGE_SIZE,
  unmount,
  unmountAllUnder,
} from './mounts.js';
import { upperChanges } from './native-changes.js';
import { diffDirSize, packDiffDir } from './native-diff.js';
import { checkOverlaySupport, type OverlayFeatures } from './support.js';

/** moby's maxDepth: at most 128 lower layers below a layer. */
export const MAX_LOWER_DEPTH = 128;
const STAGING = '.staging';
const LOWER_ENTRY = /^l\/[A-Z2-7]{26}$/;
/** Characters that would need escaping in overlay's options; such a home mounts by relative paths. */
const OPTION_SPECIAL = /[,:\\\s=]/;

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
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

/** What `mount` gets for one layer: options, and where relative paths in them resolve. */
export interface MountPlan {
  data: string;
  cwd: string;
  readonly: boolean;
}

export interface OpenOptions {
  logger?: Logger;
  /** Skips the support check (tests that fake a feature); the check runs when absent. */
  features?: OverlayFeatures;
}

export class OverlayDriver implements DiffGraphDriver {
  readonly name = 'overlay2';
  /** Outstanding `get`s per layer; a layer with a parent is mounted while its count is above 0. */
  private readonly refs = new Map<string, number>();
  private readonly locks = new KeyedMutex<string>();
  /** Ids being created right now, so that two concurrent creates of one id cannot both succeed. */
  private readonly creating = new Set<string>();
  /**
   * Each layer's `link` and `lower` files, as read (and checked) once or as written at create:
   * neither changes while the layer exists, and both are read on every container create and
   * mount. Forgotten when the layer is removed.
   */
  private readonly links = new Map<string, string>();
  private readonly lowerChains = new Map<string, string[] | null>();
  /** core's naive diff over this driver's mounts, for what the native diff cannot do. */
  private readonly naive: DiffGraphDriver;
  /**
   * GraphDriver.setParent, only with the native diff: the naive one applies a layer through a
   * mount of its parent, so what it writes depends on the parent.
   */
  readonly setParent?: (id: string, parent: string | null) => Promise<void>;

  private constructor(
    /** The driver's state directory, canonical: mount points are compared by path. */
    readonly home: string,
    readonly features: OverlayFeatures,
    private readonly logger: Logger,
  ) {
    this.naive = withNaiveDiff(this.mountOnlyView());
    if (features.nativeDiff) this.setParent = (id, parent) => this.moveOnto(id, parent);
  }

  /**
   * Opens the driver in `stateDir` (created if needed): unmounts what a crashed daemon left
   * mounted there, clears scratch directories and dangling links, then checks overlay support.
   */
  static async open(stateDir: string, opts: OpenOptions = {}): Promise<OverlayDriver> {
    const logger = opts.logger ?? silentLogger;
    await mkdir(stateDir, { recursive: true, mode: 0o710 });
    const home = await realpath(stateDir);
    for (const path of await unmountAllUnder(home)) {
      logger.warn('unmounted a leftover overlay mount (the daemon did not shut down cleanly)', { path });
    }
    await mkdir(join(home, LINK_DIR), { recursive: true, mode: 0o700 });
    for (const entry of await readdir(home)) {
      if (entry.startsWith('.')) await rm(join(home, entry), { recursive: true, force: true });
    }
    await mkdir(join(home, STAGING), { mode: 0o700 });
    await pruneDanglingLinks(home);

    let features = opts.features;
    if (!features) {
      const support = await checkOverlaySupport(home);
      if (!support.supported) throw unavailable(`overlay2 is not supported here: ${support.reason}`);
      features = support.features;
    }
    if (!features.nativeDiff) {
      logger.warn(
        `Not using native diff for overlay2, this may cause degraded performance for building images: ${features.naiveDiffReason}`,
      );
    }
    return new OverlayDriver(home, features, logger);
  }

  // -----------------------------------------------------------------------------------------
  // Layout
  // -----------------------------------------------------------------------------------------

  /** Layer `id`'s directory. Validates the id first: it becomes a path. */
  layerDir(id: string): string {
    assertLayerId(id);
    return join(this.home, id);
  }

  /** The layer's own files (the overlay upper directory). */
  diffDir(id: string): string {
    return join(this.layerDir(id), 'diff');
  }

  mergedDir(id: string): string {
    return join(this.layerDir(id), 'merged');
  }

  /** The layer's short link name (`<home>/l/<link>`). */
  async linkOf(id: string): Promise<string> {
    const known = this.links.get(id);
    if (known !== undefined) return known;
    const link = (await readFile(join(this.layerDir(id), 'link'), 'utf8')).trim();
    if (!LINK_ID.test(link)) throw internal(`layer ${id} has a corrupt link file`);
    this.links.set(id, link);
    return link;
  }

  /** The lower chain of `id` (`l/<link>` entries, nearest first), or null for a base layer. */
  async lowersOf(id: string): Promise<string[] | null> {
    const known = this.lowerChains.get(id);
    if (known !== undefined) return known;
    const text = await readOptional(join(this.layerDir(id), 'lower'));
    // A missing file is only a base layer if the layer itself exists: not remembered otherwise.
    if (text === null) {
      if (await isDirectory(this.layerDir(id))) this.lowerChains.set(id, null);
      return null;
    }
    const lowers = text.trim().split(':');
    // They go into mount options: anything but a short link could inject options.
    if (lowers.length === 0 || lowers.some((l) => !LOWER_ENTRY.test(l)))
      throw internal(`layer ${id} has a corrupt lower file`);
    this.lowerChains.set(id, lowers);
    return lowers;
  }

  /**
   * The mount options of layer `id` (which must have a parent): absolute paths when they fit in a
   * page, else paths relative to the home, as moby does.
   */
  async mountPlan(id: string): Promise<MountPlan> {
    const lowers = await this.lowersOf(id);
    if (lowers === null) throw invalidArgument(`layer ${id} has no parent, so nothing to mount`);
    const readonly = await pathExists(join(this.layerDir(id), 'committed'));
    const prefix = this.features.mountOptionsPrefix;
    const build = (layer: string, lowerDirs: string[]) =>
      readonly
        ? `${prefix}lowerdir=${join(layer, 'diff')}:${lowerDirs.join(':')}`
        : `${prefix}lowerdir=${lowerDirs.join(':')},upperdir=${join(layer, 'diff')},workdir=${join(layer, 'work')}`;
    if (!OPTION_SPECIAL.test(this.home)) {
      const data = build(
        this.layerDir(id),
        lowers.map((l) => join(this.home, l)),
      );
      if (data.length <= PAGE_SIZE - 1) return { data, cwd: this.home, readonly };
    }
    const data = build(id, lowers);
    if (data.length > PAGE_SIZE - 1) {
      throw internal(`cannot mount layer ${id}, mount options too large (${data.length} bytes)`);
    }
    return { data, cwd: this.home, readonly };
  }

  // -----------------------------------------------------------------------------------------
  // GraphDriver
  // -----------------------------------------------------------------------------------------

  async create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    const storageOpts = Object.keys(opts?.storageOpt ?? {});
    if (storageOpts.some((k) => k.toLowerCase() === 'size'))
      throw invalidArgument('--storage-opt size is only supported for ReadWrite Layers');
    return this.createLayer(id, parent, opts);
  }

  async createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    return this.createLayer(id, parent, opts);
  }

  async remove(id: string): Promise<void> {
    const dir = this.layerDir(id);
    await this.locks.run(id, async () => {
      if (!(await isDirectory(dir))) {
        this.refs.delete(id);
        return;
      }
      // Never delete through a mount: that would delete the files of the layers below.
      await unmountAllUnder(dir);
      this.refs.delete(id);
      const link = await this.linkOf(id).catch(() => null);
      this.links.delete(id);
      this.lowerChains.delete(id);
      const doomed = join(this.home, STAGING, `removing-${randomBytes(6).toString('hex')}`);
      await rename(dir, doomed);
      if (link !== null) await rm(join(this.home, LINK_DIR, link), { force: true });
      await rm(doomed, { recursive: true, force: true });
    });
  }

  async get(id: string): Promise<string> {
    const dir = this.layerDir(id);
    return this.locks.run(id, async () => {
      if (!(await isDirectory(dir))) throw notFound(`layer ${id} does not exist`);
      const count = this.refs.get(id) ?? 0;
      if ((await this.lowersOf(id)) === null) {
        this.refs.set(id, count + 1);
        return this.diffDir(id);
      }
      const merged = this.mergedDir(id);
      if (count > 0) {
        this.refs.set(id, count + 1);
        return merged;
      }
      await mkdir(merged, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      // Mounted with no get outstanding: a put that failed half-way. Start from a clean slate.
      if (await isMountPoint(merged)) await unmount(merged, { lazy: true });
      const plan = await this.mountPlan(id);
      await mountOverlay(plan.data, merged, plan.cwd);
      this.refs.set(id, 1);
      return merged;
    });
  }

  async put(id: string): Promise<void> {
    assertLayerId(id);
    await this.locks.run(id, async () => {
      const count = this.refs.get(id) ?? 0;
      if (count === 0) throw conflict(`put of layer ${id} without a matching get`);
      if (count > 1) {
        this.refs.set(id, count - 1);
        return;
      }
      if ((await this.lowersOf(id).catch(() => null)) !== null) {
        const merged = this.mergedDir(id);
        await unmount(merged, { lazy: true });
        // As moby: removing the mount point also ends copies of the mount in other namespaces.
        await rmdir(merged).catch(() => {});
      }
      this.refs.delete(id);
    });
  }

  async exists(id: string): Promise<boolean> {
    return isDirectory(this.layerDir(id));
  }

  status(): Array<[string, string]> {
    const f = this.features;
    return [
      ['Backing Filesystem', f.backingFs],
      ['Supports d_type', String(f.supportsDType)],
      ['Using metacopy', String(f.usingMetacopy)],
      ['Native Overlay Diff', String(f.nativeDiff)],
      ['userxattr', 'false'],
    ];
  }

  /** Unmounts everything below the home (moby's RecursiveUnmount) and forgets the gets. Idempotent. */
  async cleanup(): Promise<void> {
    await unmountAllUnder(this.home);
    for (const id of this.refs.keys()) await rmdir(this.mergedDir(id)).catch(() => {});
    this.refs.clear();
    // Shutdown: no helper process outlives the driver (another driver's next mount restarts it).
    await closeMountHelper();
  }

  // -----------------------------------------------------------------------------------------
  // Diffs: native on the upper directory when `parent` is the layer's own parent
  // -----------------------------------------------------------------------------------------

  /** A tar of what `id` changed relative to `parent`, with tar whiteouts. */
  async diff(id: string, parent: string | null): Promise<Readable> {
    if (!(await this.nativeFor(id, parent))) return this.naive.diff(id, parent);
    return packDiffDir(this.diffDir(id));
  }

  async changes(id: string, parent: string | null): Promise<Change[]> {
    if (!(await this.nativeFor(id, parent))) return this.naive.changes(id, parent);
    if (parent === null) return upperChanges(this.diffDir(id), null);
    const parentRoot = await this.get(parent);
    try {
      return await upperChanges(this.diffDir(id), parentRoot);
    } finally {
      await this.put(parent);
    }
  }

  /** Extracts the layer tar (plain or gzip) into the upper directory, whiteouts made overlay's. */
  async applyDiff(id: string, parent: string | null, diff: Readable): Promise<number> {
    let native: boolean;
    try {
      native = await this.nativeFor(id, parent);
    } catch (err) {
      diff.destroy();
      throw err;
    }
    if (!native) return this.naive.applyDiff(id, parent, diff);
    const { treeSize } = await extractLayer(this.diffDir(id), diff, { whiteouts: 'overlay', worker: true });
    // moby's overlay2 reports the diff dir's size (symlinks counted, hardlinks once), not the tar's;
    // the extraction knows it when it wrote into an empty dir and removed nothing, else measure.
    return treeSize ?? diffDirSize(this.diffDir(id));
  }

  async diffSize(id: string, parent: string | null): Promise<number> {
    if (!(await this.nativeFor(id, parent))) return this.naive.diffSize(id, parent);
    return diffDirSize(this.diffDir(id));
  }

  /** moby's isParent, and the native diff working on this kernel. Fails for a missing layer. */
  private async nativeFor(id: string, parent: string | null): Promise<boolean> {
    if (parent !== null) assertLayerId(parent, 'parent layer id');
    if (!(await this.exists(id))) throw notFound(`layer ${id} does not exist`);
    if (!this.features.nativeDiff) return false;
    const lowers = await this.lowersOf(id);
    if (parent === null) return lowers === null;
    if (lowers === null || !(await this.exists(parent))) return false;
    return lowers[0] === `${LINK_DIR}/${await this.linkOf(parent)}`;
  }

  /** setParent: rewrites the layer's `lower` chain; its own directory stays as it is. */
  private async moveOnto(id: string, parent: string | null): Promise<void> {
    const dir = this.layerDir(id);
    if (parent !== null) assertLayerId(parent, 'parent layer id');
    if (parent === id) throw invalidArgument(`layer ${id} cannot be its own parent`);
    await this.locks.run(id, async () => {
      if (!(await isDirectory(dir))) throw notFound(`layer ${id} does not exist`);
      if ((this.refs.get(id) ?? 0) > 0) throw conflict(`layer ${id} is in use`);
      if (await pathExists(join(dir, 'committed'))) throw conflict(`layer ${id} has a layer on top of it`);
      if (parent === null) {
        await rm(join(dir, 'lower'), { force: true });
        this.lowerChains.set(id, null);
        return;
      }
      if (!(await isDirectory(this.layerDir(parent)))) {
        throw notFound(`parent layer ${parent} of ${id} does not exist`);
      }
      const [own, parentLink, parentLowers] = await Promise.all([
        this.linkOf(id),
        this.linkOf(parent),
        this.lowersOf(parent),
      ]);
      const lowers = [`${LINK_DIR}/${parentLink}`, ...(parentLowers ?? [])];
      if (lowers.includes(`${LINK_DIR}/${own}`)) throw invalidArgument(`layer ${id} is below ${parent}`);
      if (lowers.length > MAX_LOWER_DEPTH) throw invalidArgument('max depth exceeded');
      await mkdir(join(dir, 'work'), { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      // Marked first: a crash between the two leaves a parent mounted read-only, which is harmless.
      await writeFile(join(this.layerDir(parent), 'committed'), '', { mode: 0o600 });
      await writeFileAtomic(join(dir, 'lower'), lowers.join(':'), 0o644, { durable: false });
      this.lowerChains.set(id, lowers);
    });
  }

  /** This driver without its diff operations, for core's naive diff to work through mounts. */
  private mountOnlyView(): GraphDriver {
    return {
      name: this.name,
      create: (id, parent, opts) => this.create(id, parent, opts),
      createReadWrite: (id, parent, opts) => this.createReadWrite(id, parent, opts),
      remove: (id) => this.remove(id),
      get: (id) => this.get(id),
      put: (id) => this.put(id),
      exists: (id) => this.exists(id),
      status: () => this.status(),
      cleanup: () => this.cleanup(),
    };
  }

  // -----------------------------------------------------------------------------------------

  private async createLayer(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    const dir = this.layerDir(id);
    if (parent !== null) assertLayerId(parent, 'parent layer id');
    checkStorageOpts(opts);
    if (this.creating.has(id) || (await isDirectory(dir))) throw alreadyExists(`layer ${id} already exists`);
    if (parent !== null && !(await isDirectory(this.layerDir(parent)))) {
      throw notFound(`parent layer ${parent} of ${id} does not exist`);
    }

    this.creating.add(id);
    const staging = join(this.home, STAGING, `creating-${randomBytes(6).toString('hex')}`);
    const made: { link: string | null; lowers: string[] | null } = { link: null, lowers: null };
    // The parent's chain is read (usually remembered) while the staging directory is made.
    const chain = parent === null ? null : Promise.all([this.linkOf(parent), this.lowersOf(parent)]);
    chain?.catch(() => {}); // awaited below; a failure must not count as unhandled meanwhile
    try {
      await mkdir(staging, { mode: 0o710 });
      // The new layer's files are independent: made side by side (each is a thread-pool round
      // trip on the path of every container create), all settled before a failure cleans up.
      await settleAll([
        mkdir(join(staging, 'diff')).then(() => chmod(join(staging, 'diff'), 0o755)), // as Docker makes it
        this.makeLink(id).then((link) => {
          made.link = link;
          return writeFile(join(staging, 'link'), link, { mode: 0o644 });
        }),
        (async () => {
          if (chain === null || parent === null) return;
          const [parentLink, parentLowers] = await chain;
          const lowers = [`${LINK_DIR}/${parentLink}`, ...(parentLowers ?? [])];
          if (lowers.length > MAX_LOWER_DEPTH) throw invalidArgument('max depth exceeded');
          made.lowers = lowers;
          await settleAll([
            mkdir(join(staging, 'work'), { mode: 0o700 }),
            writeFile(join(staging, 'lower'), lowers.join(':'), { mode: 0o644 }),
            // The parent now has a child: it is mounted read-only from here on (moby's "committed").
            writeFile(join(this.layerDir(parent), 'committed'), '', { mode: 0o600 }),
          ]);
        })(),
      ]);
      await rename(staging, dir);
      if (made.link !== null) this.links.set(id, made.link);
      this.lowerChains.set(id, made.lowers);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      if (made.link !== null) await rm(join(this.home, LINK_DIR, made.link), { force: true });
      throw err;
    } finally {
      this.creating.delete(id);
    }
  }

  /** Makes `l/<new link>` -> `../<id>/diff` (dangling until the layer is renamed into place). */
  private async makeLink(id: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const link = generateLinkId();
      try {
        await symlink(join('..', id, 'diff'), join(this.home, LINK_DIR, link));
        return link;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
      }
    }
  }
}

/** moby's per-layer options: only `size`, which needs project quotas (not implemented here). */
function checkStorageOpts(opts?: CreateLayerOptions): void {
  for (const key of Object.keys(opts?.storageOpt ?? {})) {
    if (key.toLowerCase() === 'size')
      throw notSupported("--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
    throw invalidArgument(`Unknown option ${key}`);
  }
}

/** Removes links of `l/` whose layer is gone (a create or remove interrupted by a crash). */
async function pruneDanglingLinks(home: string): Promise<void> {
  const linkDir = join(home, LINK_DIR);
  for (const name of await readdir(linkDir)) {
    const path = join(linkDir, name);
    const target = await readlink(path).catch(() => null);
    const alive = target !== null && (await isDirectory(join(linkDir, target)));
    if (!alive) await rm(path, { recursive: true, force: true });
  }
}
