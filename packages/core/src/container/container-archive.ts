/**
 * A container's filesystem from the outside (moby's daemon/archive.go, changes.go, export.go,
 * commit.go): `docker diff`, `export`, `commit` and `cp` both ways, on stopped and running
 * containers alike.
 *
 * Every operation holds the container's lock (start, stop and remove wait for it, as they wait
 * for moby's container lock) and mounts its read-write layer for as long as it runs; a stream
 * handed out keeps both until it ends or is destroyed.
 *
 * A running container is frozen (the exec driver's pause) while its tree is walked: moby reads
 * and writes container files from inside a chroot, which Node cannot do, so path checks here
 * only hold while nothing inside the container can swap a directory for a symlink
 * (CVE-2018-15664). A container the user paused stays paused.
 */
import { lstat } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import { Readable } from 'node:stream';
import { borrow } from '../archive/borrowed-stream.js';
import { packDirectory } from '../archive/pack.js';
import type { Logger } from '../drivers/descriptor.js';
import type { ExecDriver } from '../drivers/exec-driver.js';
import type { Change } from '../drivers/graph-driver.js';
import { conflict, forbidden, invalidArgument, notFound, notSupported } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ImageStore } from '../image/image-store.js';
import type { LayerStore } from '../image/layer-store.js';
import { familiarName, repoTagReference } from '../image/reference.js';
import { nowRfc3339Nano } from '../image/timestamps.js';
import type { CommitOptions, ContainerChange, ContainerFilesService, PathStat } from '../services.js';
import type { Mutex } from '../store/mutex.js';
import {
  commitImageConfig,
  commitRunConfig,
  parseCommitBodyConfig,
  toImageContainerConfig,
} from './commit-config.js';
import type { ContainerEntry } from './container-entry.js';
import type { ContainerStore } from './container-store.js';
import { inContainer, linkTargetInRoot, resolveForExtract, resolveForStat } from './copy-paths.js';
import { extractUpload } from './copy-upload.js';
import { pathStat } from './path-stat.js';
import { type EntryHeader, rewriteTar } from './tar-rewrite.js';
import { resolveUser } from './user.js';

/** What the filesystem operations need from the image side (`GraphImageService` has it all). */
export interface ContainerFilesImages {
  mountRWLayer(containerId: string): Promise<string>;
  unmountRWLayer(containerId: string): Promise<void>;
  rwLayerChanges(containerId: string): Promise<Change[]>;
  rwLayerDiff(containerId: string): Promise<Readable>;
  readonly layers: Pick<LayerStore, 'register'>;
  readonly images: Pick<ImageStore, 'get' | 'create' | 'delete'>;
  tag(ref: string, repo: string, tag?: string): Promise<void>;
}

export interface ContainerFilesDeps {
  store: ContainerStore;
  images: ContainerFilesImages;
  /** Its optional `pause`/`resume` freeze running containers. */
  execDriver: ExecDriver;
  logger: Logger;
  /** Written as `docker_version` into committed images. */
  engineVersion?: string;
}

/** A container held for a filesystem operation; `release` undoes everything, once. */
interface Held {
  entry: ContainerEntry;
  /** The mounted root filesystem ('' when not mounted). */
  root: string;
  release(): Promise<void>;
}

/** Waits for `mutex` and returns the function that lets it go. */
function acquire(mutex: Mutex): Promise<() => void> {
  return new Promise((acquired) => {
    void mutex.run(() => new Promise<void>((release) => acquired(() => release())));
  });
}

/**
 * Passes `source` through; `release` runs once it is over (ended, failed, or destroyed by the
 * reader), and the end is only signalled after it, so a client that saw the last byte finds the
 * container unlocked and running again.
 */
function releaseAfter(source: Readable, release: () => Promise<void>): Readable {
  let releasing: Promise<void> | null = null;
  const releaseOnce = () => {
    releasing ??= release();
    return releasing;
  };
  const out = new Readable({
    read() {
      source.resume();
    },
    destroy(err, callback) {
      source.destroy();
      releaseOnce().then(
        () => callback(err),
        (releaseErr: unknown) => callback(err ?? (releaseErr as Error)),
      );
    },
  });
  source.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) source.pause();
  });
  source.on('end', () => {
    releaseOnce().then(
      () => out.push(null),
      (err: unknown) => out.destroy(err as Error),
    );
  });
  source.on('error', (err) => out.destroy(err));
  source.on('close', () => {
    if (!source.readableEnded && !out.destroyed) out.destroy(new Error('the archive ended early'));
  });
  return out;
}

/** Docker's network files, bind-mounted into running containers from the container's directory. */
function networkFileFor(entry: ContainerEntry, containerPath: string): string | null {
  const { record } = entry;
  switch (containerPath) {
    case '/etc/hostname':
      return record.HostnamePath || null;
    case '/etc/hosts':
      return record.HostsPath || null;
    case '/etc/resolv.conf':
      return record.ResolvConfPath || null;
    default:
      return null;
  }
}

/** A bodiless directory entry for the top of an archive Docker names `/` or `.`. */
async function directoryHeader(name: string, path: string): Promise<EntryHeader> {
  const st = await lstat(path);
  return {
    name,
    type: 'directory',
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
  };
}

/**
 * A directory as moby's `TarWithOptions` writes it under the name `/` (the container's root:
 * `/`, `/bin/`, …) or `.` (a path ending in `/.`: `./`, `./a`, …). The CLI relies on these prefixes
 * when it renames the entries.
 */
async function packUnderPrefix(dir: string, top: '/' | './'): Promise<Readable> {
  const prefix = (name: string) => `${top}${name}`;
  return rewriteTar(
    packDirectory(dir),
    (h) => ({
      ...h,
      name: prefix(h.name),
      linkname: h.type === 'link' && h.linkname ? prefix(h.linkname) : h.linkname,
    }),
    [await directoryHeader(top, dir)],
  );
}

export class ContainerFiles implements ContainerFilesService {
  constructor(private readonly deps: ContainerFilesDeps) {}

  // ---- holding a container -----------------------------------------------------------------

  /**
   * Locks container `ref`, freezes it when `freeze` and it runs, mounts its rootfs when `mount`.
   * On failure everything taken is given back.
   */
  private hold(ref: string, opts: { freeze: boolean; mount: boolean }): Promise<Held> {
    return this.holdEntry(this.deps.store.get(ref), ref, opts);
  }

  private async holdEntry(
    entry: ContainerEntry,
    ref: string,
    opts: { freeze: boolean; mount: boolean },
  ): Promise<Held> {
    const unlock = await acquire(entry.lock);
    let thaw: (() => Promise<void>) | null = null;
    let root = '';
    const undo = async () => {
      if (root) {
        await this.deps.images
          .unmountRWLayer(entry.id)
          .catch((err: unknown) =>
            this.deps.logger.warn('unmount failed', { id: entry.id, error: String(err) }),
          );
      }
      await thaw?.();
      unlock();
    };
    try {
      if (entry.removed) throw notFound(`No such container: ${ref}`);
      if (opts.freeze) thaw = await this.freeze(entry);
      if (opts.mount) root = await this.deps.images.mountRWLayer(entry.id);
    } catch (err) {
      await undo();
      throw err;
    }
    let released = false;
    return {
      entry,
      root,
      release: async () => {
        if (released) return;
        released = true;
        await undo();
      },
    };
  }

  /** Freezes a running, not paused container; returns what thaws it (a no-op otherwise). */
  private async freeze(entry: ContainerEntry): Promise<() => Promise<void>> {
    const noop = async () => {};
    const state = entry.record.State;
    if (!state.Running || state.Paused) return noop;
    const driver = this.deps.execDriver;
    if (!driver.pause || !driver.resume) {
      throw notSupported(
        'the exec driver cannot pause containers, which reading or writing the files of a running container needs',
      );
    }
    try {
      await driver.pause(entry.id);
    } catch (err) {
      if (!entry.record.State.Running) return noop; // it exited meanwhile: nothing to freeze
      throw err;
    }
    return async () => {
      try {
        await driver.resume!(entry.id);
      } catch (err) {
        if (entry.record.State.Running) {
          this.deps.logger.error('could not resume a container frozen for a filesystem operation', {
            id: entry.id,
            error: String(err),
          });
        }
      }
    };
  }

  /** Runs `use` on the held container and releases it afterwards, whatever happens. */
  private async with<T>(
    ref: string,
    opts: { freeze: boolean; mount: boolean },
    use: (held: Held) => Promise<T>,
  ): Promise<T> {
    const held = await this.hold(ref, opts);
    try {
      return await use(held);
    } finally {
      await held.release();
    }
  }

  // ---- docker diff / export ----------------------------------------------------------------

  async changes(ref: string): Promise<ContainerChange[]> {
    return this.with(ref, { freeze: true, mount: false }, async ({ entry }) => {
      const changes = await this.deps.images.rwLayerChanges(entry.id);
      return changes.map((c) => ({ Path: c.path, Kind: c.kind }));
    });
  }

  async export(ref: string): Promise<Readable> {
    const held = await this.hold(ref, { freeze: true, mount: true });
    try {
      return releaseAfter(packDirectory(held.root), held.release);
    } catch (err) {
      await held.release();
      throw err;
    }
  }

  // ---- docker cp ---------------------------------------------------------------------------

  async statPath(ref: string, path: string): Promise<PathStat> {
    requirePath(path);
    return this.with(ref, { freeze: true, mount: true }, async (held) => {
      return (await this.locate(held, ref, path)).stat;
    });
  }

  async getArchive(ref: string, path: string): Promise<{ stat: PathStat; archive: Readable }> {
    requirePath(path);
    const held = await this.hold(ref, { freeze: true, mount: true });
    try {
      const found = await this.locate(held, ref, path);
      return { stat: found.stat, archive: releaseAfter(await found.pack(), held.release) };
    } catch (err) {
      await held.release();
      throw err;
    }
  }

  /** Stats `path` in the held container and says how to archive it, as moby's archive path does. */
  private async locate(
    held: Held,
    ref: string,
    path: string,
  ): Promise<{ stat: PathStat; pack: () => Promise<Readable> }> {
    const { root, entry } = held;
    const found = await resolveForStat(root, path, { path, container: ref });
    const name = found.name;
    const shownPath = inContainer(root, found.hostPath);

    // Docker's hostname, hosts and resolv.conf are the container's own files, not the image's.
    const networkFile = found.st.isFile() ? networkFileFor(entry, shownPath) : null;
    const networkStat = networkFile ? await lstat(networkFile, { bigint: true }).catch(() => null) : null;
    if (networkFile && networkStat?.isFile()) {
      return {
        stat: pathStat(name, networkStat),
        pack: async () =>
          packDirectory(dirname(networkFile), { includePaths: [basename(networkFile)], rebaseName: name }),
      };
    }

    const linkTarget = found.st.isSymbolicLink() ? await linkTargetInRoot(root, shownPath) : '';
    const stat = pathStat(name, found.st, linkTarget);
    const rel = relative(root, found.hostPath);
    const pack = async (): Promise<Readable> => {
      if (name === '/') return packUnderPrefix(found.hostPath, '/');
      if (name === '.') return packUnderPrefix(found.hostPath, './');
      return packDirectory(root, { includePaths: [rel === '' ? '.' : rel], rebaseName: name });
    };
    return { stat, pack };
  }

  async putArchive(
    ref: string,
    path: string,
    source: Readable,
    opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean },
  ): Promise<void> {
    requirePath(path);
    if (typeof source?.pipe !== 'function') throw invalidArgument('the archive must be a stream');
    // Nothing is read from `source` before the destination is checked: a refused upload is left
    // whole for the HTTP server to drain, so the client gets the answer.
    let giveBack: (() => void) | null = null;
    await this.with(ref, { freeze: true, mount: true }, async ({ entry, root }) => {
      const target = await resolveForExtract(root, path, { path, container: ref });
      if (!target.st.isDirectory()) throw invalidArgument('extraction point is not a directory');
      if (entry.hostConfig.ReadonlyRootfs) throw forbidden('container rootfs is marked read-only');
      // `-a`: everything belongs to the container's user (moby's tarCopyOptions); else the
      // archive's owners stand.
      const user = entry.record.Config.User ?? '';
      const owner =
        opts.copyUIDGID && user !== ''
          ? await resolveUser(root, user, []).then((u) => ({ uid: u.uid, gid: u.gid }))
          : undefined;
      const borrowed = borrow(source);
      giveBack = borrowed.giveBack;
      await extractUpload(target.hostPath, target.absPath, borrowed.input, {
        noOverwriteDirNonDir: opts.noOverwriteDirNonDir,
        owner,
      });
    }).catch((err: unknown) => {
      giveBack?.();
      throw err;
    });
  }

  // ---- docker commit -----------------------------------------------------------------------

  async commit(opts: CommitOptions): Promise<{ Id: string }> {
    const entry = this.deps.store.get(opts.container);
    // Everything the request says is checked before anything is frozen or written.
    const repo = optionalString(opts.repo, 'repo') ?? '';
    const tag = optionalString(opts.tag, 'tag');
    const ref = repoTagReference(repo, tag);
    if (ref && familiarName(ref) === 'sha256') {
      throw invalidArgument('refusing to create an ambiguous tag using digest algorithm as name');
    }
    const author = optionalString(opts.author, 'author') ?? '';
    const comment = optionalString(opts.comment, 'comment') ?? '';
    if (!Array.isArray(opts.changes)) throw invalidArgument('changes must be a list of strings');
    const override =
      opts.config === undefined || opts.config === null ? null : parseCommitBodyConfig(opts.config);
    const containerConfig = toImageContainerConfig(entry.record.Config);
    const config = commitRunConfig(containerConfig, opts.changes, override);
    const parent = this.deps.images.images.get(entry.record.Image as Digest);
    if (!parent) throw notFound(`No such image: ${entry.record.Image}`);

    if (entry.removed) throw conflict(`You cannot commit container ${entry.id} which is being removed`);

    const held = await this.holdEntry(entry, opts.container, { freeze: opts.pause, mount: false });
    let layer: Awaited<ReturnType<ContainerFilesImages['layers']['register']>>;
    try {
      const diff = await this.deps.images.rwLayerDiff(entry.id);
      layer = await this.deps.images.layers.register(diff, parent.topChainId);
    } finally {
      await held.release();
    }

    try {
      const raw = commitImageConfig({
        parent: parent.config,
        containerId: entry.id,
        containerConfig,
        config,
        author,
        comment,
        diffId: layer.diffId,
        created: nowRfc3339Nano(),
        engineVersion: this.deps.engineVersion,
      });
      const { id, created } = await this.deps.images.images.create(raw, parent.id);
      if (ref) {
        try {
          await this.deps.images.tag(id, repo, tag);
        } catch (err) {
          if (created) await this.deps.images.images.delete(id).catch(() => []);
          throw err;
        }
      }
      return { Id: id };
    } finally {
      // The image holds its own reference now (or the commit failed and the layer may go).
      await layer.release();
    }
  }
}

/** moby's `ArchiveFormValues` (its message lacks a space, as here). */
function requirePath(path: string): void {
  if (typeof path !== 'string' || path === '') throw invalidArgument('bad parameter: pathcannot be empty');
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidArgument(`${name} must be a string`);
  return value;
}
