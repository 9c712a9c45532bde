/**
 * The filesystem calls of layer extraction, behind one interface so the same extraction logic
 * (extract.ts, rooted-tree.ts) runs either way:
 * - `asyncExtractFs`, on Node's async API, for the main thread: the event loop stays free, and
 *   files are handled through raw descriptors (a FileHandle costs an object, a finalizer and a
 *   promise per file, which showed in profiles of layers with many small files);
 * - `syncExtractFs`, on the `*Sync` calls, for a worker thread (extract-worker.ts): nothing else
 *   runs there, so a round trip through libuv's thread pool per call is pure overhead (about 10
 *   calls per file; a sync extraction runs at `tar -x`'s speed, the async one at less than half).
 *
 * Every call returns a promise, so callers are written once; the sync one returns it settled.
 * Errors are Node's own (with `code`), the same either way.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';

export type TimeLike = Date | number;

export interface ExtractFs {
  /**
   * False when calls complete before they return (`syncExtractFs`): issuing several at once
   * overlaps nothing, so work meant to overlap them (the write queue) is not worth its memory.
   */
  readonly concurrent: boolean;
  /** open(2): a file descriptor, which the caller must `close`. */
  open(path: string, flags: number, mode?: number): Promise<number>;
  close(fd: number): Promise<void>;
  /** One write(2) at the current offset: how many bytes were written (maybe fewer than asked). */
  write(fd: number, buffer: Buffer, offset: number, length: number): Promise<number>;
  /** One writev(2) at the current offset: how many bytes were written. */
  writev(fd: number, buffers: readonly Buffer[]): Promise<number>;
  fchown(fd: number, uid: number, gid: number): Promise<void>;
  fchmod(fd: number, mode: number): Promise<void>;
  /** Numbers are seconds since the epoch, as for fs.futimes. */
  futimes(fd: number, atime: TimeLike, mtime: TimeLike): Promise<void>;
  lstat(path: string): Promise<fs.Stats>;
  /** Makes one directory (never its parents). */
  mkdir(path: string, mode?: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** Removes `path` and, for a directory, everything below it; never follows symlinks; a missing path is fine. */
  removeTree(path: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
  lutimes(path: string, atime: TimeLike, mtime: TimeLike): Promise<void>;
  link(existingPath: string, newPath: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** realpath(3). */
  realpath(path: string): Promise<string>;
  /** Whether the directory `path` has no entries. */
  isEmptyDirectory(path: string): Promise<boolean>;
}

/** Resolves with a callback's result, for the fd calls fs/promises only offers through a FileHandle. */
function viaCallback<T>(call: (done: (err: NodeJS.ErrnoException | null, value: T) => void) => void) {
  return new Promise<T>((resolve, reject) => call((err, value) => (err ? reject(err) : resolve(value))));
}

export const asyncExtractFs: ExtractFs = {
  concurrent: true,
  open: (path, flags, mode) => viaCallback<number>((done) => fs.open(path, flags, mode, done)),
  close: (fd) => viaCallback<void>((done) => fs.close(fd, (err) => done(err, undefined))),
  write: (fd, buffer, offset, length) =>
    viaCallback<number>((done) => fs.write(fd, buffer, offset, length, null, done)),
  writev: (fd, buffers) => viaCallback<number>((done) => fs.writev(fd, buffers, null, done)),
  fchown: (fd, uid, gid) =>
    viaCallback<void>((done) => fs.fchown(fd, uid, gid, (err) => done(err, undefined))),
  fchmod: (fd, mode) => viaCallback<void>((done) => fs.fchmod(fd, mode, (err) => done(err, undefined))),
  futimes: (fd, atime, mtime) =>
    viaCallback<void>((done) => fs.futimes(fd, atime, mtime, (err) => done(err, undefined))),
  lstat: (path) => fsp.lstat(path),
  mkdir: async (path, mode) => {
    await fsp.mkdir(path, mode);
  },
  chmod: (path, mode) => fsp.chmod(path, mode),
  removeTree: (path) => fsp.rm(path, { recursive: true, force: true }),
  symlink: (target, path) => fsp.symlink(target, path),
  lchown: (path, uid, gid) => fsp.lchown(path, uid, gid),
  lutimes: (path, atime, mtime) => fsp.lutimes(path, atime, mtime),
  link: (existingPath, newPath) => fsp.link(existingPath, newPath),
  readdir: (path) => fsp.readdir(path),
  realpath: (path) => fsp.realpath(path),
  isEmptyDirectory: async (path) => {
    const dir = await fsp.opendir(path);
    try {
      return (await dir.read()) === null;
    } finally {
      await dir.close().catch(() => {});
    }
  },
};

/** Runs `call` now; its result or error as a settled promise. */
function settled<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err);
  }
}

export const syncExtractFs: ExtractFs = {
  concurrent: false,
  open: (path, flags, mode) => settled(() => fs.openSync(path, flags, mode)),
  close: (fd) => settled(() => fs.closeSync(fd)),
  write: (fd, buffer, offset, length) => settled(() => fs.writeSync(fd, buffer, offset, length)),
  writev: (fd, buffers) => settled(() => fs.writevSync(fd, buffers as Buffer[])),
  fchown: (fd, uid, gid) => settled(() => fs.fchownSync(fd, uid, gid)),
  fchmod: (fd, mode) => settled(() => fs.fchmodSync(fd, mode)),
  futimes: (fd, atime, mtime) => settled(() => fs.futimesSync(fd, atime, mtime)),
  lstat: (path) => settled(() => fs.lstatSync(path)),
  mkdir: (path, mode) =>
    settled(() => {
      fs.mkdirSync(path, mode);
    }),
  chmod: (path, mode) => settled(() => fs.chmodSync(path, mode)),
  removeTree: (path) => settled(() => fs.rmSync(path, { recursive: true, force: true })),
  symlink: (target, path) => settled(() => fs.symlinkSync(target, path)),
  lchown: (path, uid, gid) => settled(() => fs.lchownSync(path, uid, gid)),
  lutimes: (path, atime, mtime) => settled(() => fs.lutimesSync(path, atime, mtime)),
  link: (existingPath, newPath) => settled(() => fs.linkSync(existingPath, newPath)),
  readdir: (path) => settled(() => fs.readdirSync(path)),
  // The native one, as fs/promises' realpath is (the JS one walks the path with lstat).
  realpath: (path) => settled(() => fs.realpathSync.native(path)),
  isEmptyDirectory: (path) =>
    settled(() => {
      const dir = fs.opendirSync(path);
      try {
        return dir.readSync() === null;
      } finally {
        dir.closeSync();
      }
    }),
};
