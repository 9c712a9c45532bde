/**
 * Applies a Docker layer tar to a directory, after moby's archive.UnpackLayer, streaming entry by
 * entry. Nothing outside the root is ever written, chmod'ed, chown'ed or touched:
 * - names (and hardlink targets) are checked by `splitEntryPath`: no absolute names, no `..`;
 *   a parent component that is a whiteout name (`.wh.x/y`) is refused too, since it can only be a
 *   malformed whiteout;
 * - every ancestor is checked by `RootedTree` to be a real directory: a symlinked parent is refused
 *   (Docker resolves it inside the root instead), whether it came from a lower layer or this one;
 * - whatever is at an entry's path is removed first (never followed), files are then created with
 *   O_EXCL|O_NOFOLLOW and changed through their descriptor, directories through an O_NOFOLLOW one.
 */
import { constants, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Header } from 'tar-stream';
import { extract as tarExtract } from 'tar-stream';
import { internal, invalidArgument, notSupported, TsdockerError } from '../errors.js';
import { decompressStream } from './compression.js';
import { joinEntryPath, splitEntryPath } from './entry-path.js';
import { asyncExtractFs, type ExtractFs, type TimeLike } from './extract-fs.js';
import { extractInWorker, extractWorkerUrl } from './extract-in-worker.js';
import { RootedTree } from './rooted-tree.js';
import { makeSpecialFile, setExtendedAttributes } from './special-files.js';
import {
  isOverlayWhiteout,
  OVERLAY_OPAQUE_XATTR,
  parseWhiteout,
  WHITEOUT_META_PREFIX,
  WHITEOUT_OPAQUE_DIR,
  WHITEOUT_PREFIX,
} from './whiteouts.js';
import { writeAll, writeAllvTo } from './write-all.js';
import { WriteQueue } from './write-queue.js';

export type LayerEntryType = Header['type'];

export interface ExtractedEntry {
  /** The name as written in the archive. */
  name: string;
  type: LayerEntryType;
  size: number;
}

export type ExtractLayerOptions = ExtractLayerCommonOptions &
  (
    | {
        /** Called after each entry has been applied (progress reporting). */
        onEntry?: (entry: ExtractedEntry) => void;
        worker?: false;
      }
    | {
        /**
         * Extract in a worker thread of its own, with synchronous filesystem calls: no round trip
         * through libuv's thread pool per call, which is most of the time of a layer of many small
         * files, and the event loop stays free. A thread takes ~40 ms to start, so this is meant
         * for layers (`docker load`, pulls), not small copies. No `onEntry`: a callback cannot
         * cross threads. See docs/adr/0004-layer-extraction-in-a-worker.md.
         */
        worker: true;
        onEntry?: never;
      }
  );

/**
 * What whiteout entries become. `apply` (default): they delete what they name in the directory,
 * as a layer stack of plain directories needs (vfs, the naive diff). `keep`: they are written as
 * the empty files they are, for a driver that interprets them itself. `overlay`: they become
 * overlayfs whiteouts (a 0:0 character device for `.wh.<name>`, the `trusted.overlay.opaque=y`
 * xattr on the directory for `.wh..wh..opq`), for extracting into an overlay layer's upper
 * (`diff`) directory; `trusted.overlay.*` xattrs carried by the archive itself are dropped in this
 * mode, since they would steer overlayfs (redirects, metacopy).
 */
export type WhiteoutMode = 'apply' | 'keep' | 'overlay';

interface ExtractLayerCommonOptions {
  whiteouts?: WhiteoutMode;
}

/** How extract-worker.ts (and tests) run the extraction itself, in the calling thread. */
export interface InThreadExtractOptions extends ExtractLayerCommonOptions {
  onEntry?: (entry: ExtractedEntry) => void;
  /** Default: the async calls. */
  fs?: ExtractFs;
  /**
   * The process's umask, when the caller knows it (a worker thread cannot read it); default: read
   * here.
   */
  umask?: number | null;
}

export interface ExtractedLayer {
  /** Bytes of file content written. */
  bytes: number;
  /**
   * What the written tree weighs as moby's directory.Size counts it (non-directories, a symlink
   * by its target's length, a multiply-linked file once), when the extraction can tell without
   * looking: the root was empty and nothing was removed or replaced. Null otherwise.
   */
  treeSize: number | null;
}

/**
 * Extracts `tar` (plain or gzip-compressed) into `root`, which must exist. Returns the number of
 * bytes of file content written and, when known, the size of the tree. Errors are TsdockerErrors: invalid-argument for a malformed or
 * unsafe archive (naming the entry), not-supported for what this machine cannot do.
 */
export async function extractLayer(
  root: string,
  tar: Readable,
  opts: ExtractLayerOptions = {},
): Promise<ExtractedLayer> {
  if (opts.worker) {
    // Null when core runs from its TypeScript sources (its own tests): there is no built worker
    // file to start, so the extraction runs here, with the async calls.
    const workerUrl = extractWorkerUrl();
    if (workerUrl)
      return extractInWorker(workerUrl, root, tar, { whiteouts: opts.whiteouts, umask: currentUmask() });
    return extractLayerInThread(root, tar, { whiteouts: opts.whiteouts });
  }
  return extractLayerInThread(root, tar, opts);
}

/** extractLayer in the calling thread, through `opts.fs`. */
export async function extractLayerInThread(
  root: string,
  tar: Readable,
  opts: InThreadExtractOptions = {},
): Promise<ExtractedLayer> {
  const fs = opts.fs ?? asyncExtractFs;
  let canonical: string;
  try {
    canonical = await canonicalRoot(fs, root);
  } catch (err) {
    tar.destroy();
    throw err;
  }
  let extraction: LayerExtraction;
  try {
    extraction = new LayerExtraction(canonical, opts, fs, await fs.isEmptyDirectory(canonical));
  } catch (err) {
    tar.destroy();
    throw err;
  }
  const source = decompressStream(tar);
  const parser = tarExtract();
  // The iterator must exist before any data flows: tar-stream drops entries nobody listens for.
  const entries = parser[Symbol.asyncIterator]();
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  try {
    for (let next = await entries.next(); !next.done; next = await entries.next()) {
      await extraction.apply(next.value.header, next.value);
      next.value.resume(); // drains what was not read, so the parser moves on
    }
    await extraction.finish();
    return { bytes: extraction.bytes, treeSize: extraction.treeSize };
  } catch (err) {
    if (TsdockerError.is(err)) throw err;
    throw invalidArgument(`invalid layer archive: ${(err as Error).message}`, err);
  } finally {
    // Nothing may still be writing when the caller gets to clean up.
    await extraction.settle();
    parser.destroy();
    source.destroy();
  }
}

async function canonicalRoot(fs: ExtractFs, root: string): Promise<string> {
  const canonical = await fs.realpath(root).catch((err: unknown) => {
    throw invalidArgument(`extraction root ${root} does not exist`, err);
  });
  if (!(await fs.lstat(canonical)).isDirectory())
    throw invalidArgument(`extraction root ${root} is not a directory`);
  return canonical;
}

interface Metadata {
  /** Names the entry in errors. */
  what: string;
  uid: number;
  gid: number;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  atime: TimeLike;
  mtime: TimeLike;
  xattrs: Array<[string, Buffer]>;
}

/** Directory times are set last: writing a directory's children changes its mtime. */
interface PendingDirTimes {
  parts: string[];
  atime: TimeLike;
  mtime: TimeLike;
}

const FILE_CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/**
 * Files up to this size are read whole and written in the background (see write-queue.ts), when
 * the fs calls can overlap.
 */
const QUEUED_FILE_BYTES = 1024 * 1024;
const DIR_OPEN_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

class LayerExtraction {
  bytes = 0;
  private readonly fs: ExtractFs;
  private readonly tree: RootedTree;
  private readonly whiteouts: WhiteoutMode;
  private readonly onEntry: ((entry: ExtractedEntry) => void) | undefined;
  /** Paths written by this layer and their ancestors: an opaque directory keeps these. */
  private readonly unpacked = new Set<string>();
  private readonly pendingDirTimes: PendingDirTimes[] = [];
  /**
   * The root was empty when extraction began, so a path exists only if this extraction made it:
   * one not in `touched` (nor a directory the tree knows) needs no lstat before it is created.
   */
  private readonly fresh: boolean;
  /** Every path this extraction created something at (a superset of what exists). */
  private readonly touched = new Set<string>();
  private readonly queue = new WriteQueue();
  /** Permission bits the process's umask removes from a new file (null: unknown, always chmod). */
  private readonly umask: number | null;
  /** See ExtractedLayer.treeSize; null once something was removed or replaced. */
  treeSize: number | null;

  constructor(root: string, opts: InThreadExtractOptions, fs: ExtractFs, fresh: boolean) {
    this.fs = fs;
    this.tree = new RootedTree(root, fs);
    this.whiteouts = opts.whiteouts ?? 'apply';
    this.onEntry = opts.onEntry;
    this.fresh = fresh;
    this.treeSize = fresh ? 0 : null;
    this.umask = opts.umask === undefined ? currentUmask() : opts.umask;
  }

  async apply(header: Header, body: AsyncIterable<unknown>): Promise<void> {
    const what = `layer entry "${header.name}"`;
    try {
      this.queue.check();
      const applied = await this.applyEntry(header, body, what);
      if (applied) this.onEntry?.({ name: header.name, type: header.type, size: header.size });
    } catch (err) {
      throw asExtractionError(err, what);
    }
  }

  /** Waits for queued writes, then sets the deferred directory times. */
  async finish(): Promise<void> {
    await this.queue.drain();
    try {
      await this.setDirectoryTimes();
    } catch (err) {
      throw internal(`setting directory times: ${(err as Error).message}`, err);
    }
  }

  private async setDirectoryTimes(): Promise<void> {
    for (const { parts, atime, mtime } of this.pendingDirTimes) {
      const ancestors = await this.tree.inspectAncestors(parts);
      if (!ancestors.ok) continue;
      let dir: number;
      try {
        dir = await this.fs.open(this.tree.path(parts), DIR_OPEN_FLAGS);
      } catch {
        continue; // gone, or no longer a directory
      }
      try {
        await this.fs.futimes(dir, atime, mtime);
      } finally {
        await this.fs.close(dir);
      }
    }
  }

  /** Waits for queued writes (never throws): on failure, before the caller removes the layer. */
  settle(): Promise<void> {
    return this.queue.settle();
  }

  /** Returns false for entries skipped on purpose. */
  private async applyEntry(header: Header, body: AsyncIterable<unknown>, what: string): Promise<boolean> {
    const parts = splitEntryPath(header.name, what);
    if (await this.tryQueueFile(parts, header, body, what)) return true;
    // Anything else may touch a path being written: it waits for the queue.
    await this.queue.drain();
    const first = parts[0];
    // AUFS bookkeeping at the root (`.wh..wh.plnk/…`), skipped as moby does; a root opaque marker is real.
    const isRootOpaque = parts.length === 1 && first === WHITEOUT_OPAQUE_DIR;
    if (first?.startsWith(WHITEOUT_META_PREFIX) && !isRootOpaque) return false;
    for (const part of parts.slice(0, -1)) {
      if (part.startsWith(WHITEOUT_PREFIX))
        throw invalidArgument(`${what}: whiteout name "${part}" used as a directory`);
    }
    const base = parts.at(-1);
    if (this.whiteouts !== 'keep' && base !== undefined) {
      const whiteout = parseWhiteout(base);
      const overlay = this.whiteouts === 'overlay';
      if (whiteout?.kind === 'opaque') {
        if (overlay) await this.markOpaque(parts.slice(0, -1), what);
        else await this.applyOpaque(parts.slice(0, -1), what);
        return true;
      }
      if (whiteout?.kind === 'remove') {
        if (overlay) await this.writeOverlayWhiteout(parts.slice(0, -1), whiteout.name, header, what);
        else await this.applyRemoval(parts.slice(0, -1), whiteout.name, what);
        return true;
      }
    }

    const type = header.type;
    if (parts.length === 0) {
      if (type !== 'directory')
        throw invalidArgument(`${what}: the root can only be a directory, not a ${type}`);
      await this.writeDirectory(parts, this.metadata(header, what));
      return true;
    }
    await this.tree.prepareAncestors(parts, what);
    switch (type) {
      case 'directory':
        await this.writeDirectory(parts, this.metadata(header, what));
        break;
      case 'file':
      case 'contiguous-file':
        await this.writeFile(parts, body, header.size ?? 0, this.metadata(header, what));
        break;
      case 'symlink':
        await this.writeSymlink(parts, header.linkname ?? '', this.metadata(header, what), what);
        break;
      case 'link':
        await this.writeHardlink(parts, header.linkname ?? '', what);
        break;
      case 'fifo':
      case 'character-device':
      case 'block-device':
        await this.writeSpecialFile(parts, type, header, this.metadata(header, what), what);
        break;
      default:
        throw invalidArgument(`${what}: unsupported entry type ${type ?? 'unknown'}`);
    }
    this.recordUnpacked(parts);
    return true;
  }

  /**
   * Writes a small regular file in the background when that cannot change the outcome: a fresh
   * root, nothing at its path yet, no queued write at its path or above it, and no whiteout
   * name. Its ancestors are prepared (and checked) here, in archive order. Not with sync calls:
   * they would not overlap, so the file is written in line (by writeFile) instead.
   */
  private async tryQueueFile(
    parts: string[],
    header: Header,
    body: AsyncIterable<unknown>,
    what: string,
  ): Promise<boolean> {
    const size = header.size ?? 0;
    if (!this.fs.concurrent) return false;
    if (!this.fresh || (header.type !== 'file' && header.type !== 'contiguous-file')) return false;
    if (size > QUEUED_FILE_BYTES || parts.length === 0) return false;
    if (parts.some((part) => part.startsWith(WHITEOUT_PREFIX))) return false;
    for (let depth = 1; depth <= parts.length; depth++) {
      if (this.queue.has(joinEntryPath(parts.slice(0, depth)))) return false;
    }
    const rel = joinEntryPath(parts);
    if (this.touched.has(rel) || this.tree.isKnownDirectory(parts)) return false;
    await this.tree.prepareAncestors(parts, what);
    const meta = this.metadata(header, what);
    const chunks: Buffer[] = [];
    for await (const chunk of entryData(body, meta.what)) chunks.push(chunk);
    this.touched.add(rel);
    this.recordUnpacked(parts);
    this.bytes += size;
    this.addToTreeSize(size);
    await this.queue.admit(rel, size, async () => {
      try {
        await this.createFile(this.tree.path(parts), meta, async (file) => {
          if (chunks.length > 0) await writeAllvTo(this.fs, file, chunks);
        });
      } catch (err) {
        throw asExtractionError(err, what);
      }
    });
    return true;
  }

  /** An entry's metadata; in overlay mode without the xattrs that are overlayfs's own. */
  private metadata(header: Header, what: string): Metadata {
    const meta = metadataOf(header, what);
    if (this.whiteouts === 'overlay') meta.xattrs = meta.xattrs.filter(([name]) => !isOverlayXattr(name));
    return meta;
  }

  private recordUnpacked(parts: readonly string[]): void {
    for (let depth = parts.length; depth > 0; depth--) {
      const rel = joinEntryPath(parts.slice(0, depth));
      if (this.unpacked.has(rel)) break; // its ancestors are recorded already
      this.unpacked.add(rel);
    }
  }

  /**
   * Clears the path for a new entry: whatever is there is removed (a directory recursively, never
   * following symlinks), except a directory when a directory is coming, which is merged into.
   * Returns true when an existing directory is kept.
   */
  private async clearPath(parts: readonly string[], keepDirectory: boolean): Promise<boolean> {
    const abs = this.tree.path(parts);
    const rel = joinEntryPath(parts);
    const mayExist = !this.fresh || this.touched.has(rel) || this.tree.isKnownDirectory(parts);
    this.touched.add(rel);
    if (!mayExist) return false;
    let existing: Stats;
    try {
      existing = await this.fs.lstat(abs);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    if (keepDirectory && existing.isDirectory()) return true;
    await this.fs.removeTree(abs);
    this.treeSize = null;
    this.tree.forget(parts);
    return false;
  }

  private async writeDirectory(parts: string[], meta: Metadata): Promise<void> {
    const abs = this.tree.path(parts);
    // A directory put where this layer whited out a name hides whatever the layers below had there.
    const hidesLower = this.whiteouts === 'overlay' && parts.length > 0 && (await this.isWhiteoutAt(abs));
    if (parts.length > 0 && !(await this.clearPath(parts, true))) await this.fs.mkdir(abs, 0o700);
    this.tree.markDirectory(parts);
    const dir = await this.fs.open(abs, DIR_OPEN_FLAGS);
    try {
      await this.fs.fchown(dir, meta.uid, meta.gid);
      const xattrs = hidesLower ? [...meta.xattrs, OPAQUE_VALUE] : meta.xattrs;
      await setExtendedAttributes(abs, xattrs, meta.what);
      await this.fs.fchmod(dir, meta.mode); // after chown, which clears setuid/setgid
    } finally {
      await this.fs.close(dir);
    }
    this.pendingDirTimes.push({ parts, atime: meta.atime, mtime: meta.mtime });
  }

  private async writeFile(
    parts: string[],
    body: AsyncIterable<unknown>,
    size: number,
    meta: Metadata,
  ): Promise<void> {
    await this.clearPath(parts, false);
    await this.createFile(this.tree.path(parts), meta, async (file) => {
      for await (const chunk of entryData(body, meta.what)) await writeAll(this.fs, file, chunk);
    });
    this.bytes += size;
    this.addToTreeSize(size);
  }

  private addToTreeSize(bytes: number): void {
    if (this.treeSize !== null) this.treeSize += bytes;
  }

  /**
   * Creates the regular file `abs` (which must not exist), lets `fill` write its content to the
   * descriptor, then sets owner, xattrs, mode and times through it.
   */
  private async createFile(abs: string, meta: Metadata, fill: (fd: number) => Promise<void>): Promise<void> {
    // Created with its final permission bits when the umask keeps them and chown cannot clear
    // any (it clears setuid/setgid): one chmod less per file.
    const modeAtCreate =
      this.umask !== null && (meta.mode & 0o7000) === 0 && (meta.mode & this.umask) === 0 ? meta.mode : null;
    const fd = await this.fs.open(abs, FILE_CREATE_FLAGS, modeAtCreate ?? 0o600);
    try {
      await fill(fd);
      await this.fs.fchown(fd, meta.uid, meta.gid);
      await setExtendedAttributes(abs, meta.xattrs, meta.what);
      if (modeAtCreate === null) await this.fs.fchmod(fd, meta.mode);
      await this.fs.futimes(fd, meta.atime, meta.mtime);
    } finally {
      await this.fs.close(fd);
    }
  }

  private async writeSymlink(parts: string[], target: string, meta: Metadata, what: string): Promise<void> {
    // The target is stored as is: it is only ever resolved inside the container.
    if (target === '' || target.includes('\0')) throw invalidArgument(`${what}: invalid symlink target`);
    await this.clearPath(parts, false);
    const abs = this.tree.path(parts);
    await this.fs.symlink(target, abs);
    this.addToTreeSize(Buffer.byteLength(target));
    await this.fs.lchown(abs, meta.uid, meta.gid);
    await setExtendedAttributes(abs, meta.xattrs, meta.what);
    await this.fs.lutimes(abs, meta.atime, meta.mtime);
  }

  /**
   * A hardlink's target is another path of the same layer root (`usr/bin/x`), resolved with the
   * same rules as entry names. link(2) does not follow a symlink target, so linking to a symlink
   * links the symlink itself. The target's metadata stands: the entry shares its inode.
   */
  private async writeHardlink(parts: string[], linkname: string, what: string): Promise<void> {
    const targetWhat = `${what}: hardlink target "${linkname}"`;
    const targetParts = splitEntryPath(linkname, targetWhat);
    if (targetParts.length === 0) throw invalidArgument(`${targetWhat} is the root directory`);
    if (joinEntryPath(targetParts) === joinEntryPath(parts))
      throw invalidArgument(`${what}: hardlink to itself`);
    if (!(await this.tree.ancestorsExist(targetParts, targetWhat))) {
      throw invalidArgument(`${targetWhat} does not exist`);
    }
    const targetAbs = this.tree.path(targetParts);
    const target = await this.fs.lstat(targetAbs).catch((err: unknown) => {
      throw isNotFound(err) ? invalidArgument(`${targetWhat} does not exist`) : err;
    });
    if (target.isDirectory()) throw invalidArgument(`${targetWhat} is a directory`);
    await this.clearPath(parts, false);
    await this.fs.link(targetAbs, this.tree.path(parts));
  }

  private async writeSpecialFile(
    parts: string[],
    type: 'fifo' | 'character-device' | 'block-device',
    header: Header,
    meta: Metadata,
    what: string,
  ): Promise<void> {
    await this.clearPath(parts, false);
    const abs = this.tree.path(parts);
    await makeSpecialFile(abs, type, { major: header.devmajor ?? 0, minor: header.devminor ?? 0 }, what);
    // By path: opening a FIFO or a device could block or act on the device. The node was created
    // just now under checked ancestors, so the path is that node.
    await this.fs.lchown(abs, meta.uid, meta.gid);
    await setExtendedAttributes(abs, meta.xattrs, meta.what);
    await this.fs.chmod(abs, meta.mode);
    await this.fs.lutimes(abs, meta.atime, meta.mtime);
  }

  /** `.wh.<name>` in `dirParts`: deletes `<name>` there, whatever it is; a missing one is fine. */
  private async applyRemoval(dirParts: string[], name: string, what: string): Promise<void> {
    if (name === '' || name === '.' || name === '..') throw invalidArgument(`${what}: invalid whiteout`);
    const targetParts = [...dirParts, name];
    if (!(await this.tree.ancestorsExist(targetParts, what))) return;
    await this.fs.removeTree(this.tree.path(targetParts));
    this.treeSize = null;
    this.tree.forget(targetParts);
  }

  /**
   * Overlay mode, `.wh.<name>` in `dirParts`: a 0:0 character device at `<name>` (replacing what
   * this layer put there), owned as the whiteout entry is, as moby's overlay converter does.
   */
  private async writeOverlayWhiteout(
    dirParts: string[],
    name: string,
    header: Header,
    what: string,
  ): Promise<void> {
    if (name === '' || name === '.' || name === '..') throw invalidArgument(`${what}: invalid whiteout`);
    const targetParts = [...dirParts, name];
    await this.tree.prepareAncestors(targetParts, what);
    await this.clearPath(targetParts, false);
    const abs = this.tree.path(targetParts);
    await makeSpecialFile(abs, 'character-device', { major: 0, minor: 0 }, what);
    const meta = this.metadata(header, what);
    await this.fs.lchown(abs, meta.uid, meta.gid);
  }

  /** Overlay mode, `.wh..wh..opq` in `dirParts`: marks the directory opaque (made if missing). */
  private async markOpaque(dirParts: string[], what: string): Promise<void> {
    await this.tree.prepareAncestors([...dirParts, WHITEOUT_OPAQUE_DIR], what);
    await setExtendedAttributes(this.tree.path(dirParts), [OPAQUE_VALUE], what);
  }

  /** `.wh..wh..opq` in `dirParts`: removes everything in it that this layer did not write. */
  private async applyOpaque(dirParts: string[], what: string): Promise<void> {
    const marker = [...dirParts, WHITEOUT_OPAQUE_DIR];
    if (!(await this.tree.ancestorsExist(marker, what))) return;
    await this.removeLowerContent(dirParts);
  }

  private async removeLowerContent(dirParts: string[]): Promise<void> {
    const dir = this.tree.path(dirParts);
    for (const name of await this.fs.readdir(dir)) {
      const childParts = [...dirParts, name];
      const child = this.tree.path(childParts);
      if (this.unpacked.has(joinEntryPath(childParts))) {
        if ((await this.fs.lstat(child)).isDirectory()) await this.removeLowerContent(childParts);
      } else {
        await this.fs.removeTree(child);
        this.treeSize = null;
        this.tree.forget(childParts);
      }
    }
  }

  private async isWhiteoutAt(path: string): Promise<boolean> {
    try {
      return isOverlayWhiteout(await this.fs.lstat(path));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

const OPAQUE_VALUE: [string, Buffer] = [OVERLAY_OPAQUE_XATTR, Buffer.from('y')];
const isOverlayXattr = (name: string) => name.startsWith('trusted.overlay.');

/** An entry's bytes; failing to read them (truncated or corrupt input) is the archive's fault. */
async function* entryData(body: AsyncIterable<unknown>, what: string): AsyncGenerator<Buffer> {
  const chunks = body[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<unknown>;
    try {
      next = await chunks.next();
    } catch (err) {
      throw invalidArgument(`${what}: the archive is truncated or corrupt inside this entry`, err);
    }
    if (next.done) return;
    yield next.value as Buffer;
  }
}

/** Errors of the filesystem become internal ones naming the entry; ours pass unchanged. */
function asExtractionError(err: unknown, what: string): unknown {
  if (TsdockerError.is(err)) return err;
  return internal(`${what}: ${(err as Error).message}`, err);
}

/**
 * The process's umask, read without changing it where Node allows (null in a worker thread,
 * where reading it is not supported).
 */
function currentUmask(): number | null {
  try {
    return process.umask();
  } catch {
    return null;
  }
}

/** PAX records override the classic header fields (large ids, sub-second times). */
function metadataOf(header: Header, what: string): Metadata {
  const pax = (header.pax ?? {}) as Record<string, string>;
  const paxNumber = (key: string) => {
    const value = pax[key];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n)) throw invalidArgument(`${what}: invalid PAX ${key} "${value}"`);
    return n;
  };
  const mtime = paxNumber('mtime') ?? header.mtime ?? new Date(0);
  return {
    what,
    uid: paxNumber('uid') ?? header.uid ?? 0,
    gid: paxNumber('gid') ?? header.gid ?? 0,
    mode: (header.mode ?? 0) & 0o7777,
    mtime,
    atime: paxNumber('atime') ?? mtime,
    xattrs: xattrsOf(pax, what),
  };
}

const XATTR_RECORD = 'SCHILY.xattr.';

/**
 * tar-stream decodes PAX values as UTF-8, so a binary value (security.capability always is) comes
 * out with U+FFFD in place of its invalid bytes and cannot be recovered. Refusing is better than
 * writing a corrupted capability set.
 */
function xattrsOf(pax: Record<string, string>, what: string): Array<[string, Buffer]> {
  const attrs: Array<[string, Buffer]> = [];
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith(XATTR_RECORD)) continue;
    const name = key.slice(XATTR_RECORD.length);
    if (value.includes('\uFFFD')) {
      throw notSupported(
        `${what}: extended attribute ${name} has a binary value, which the tar reader cannot recover`,
      );
    }
    attrs.push([name, Buffer.from(value, 'utf8')]);
  }
  return attrs;
}
