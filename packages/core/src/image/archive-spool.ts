/**
 * An image archive (`docker load`'s body) copied to disk before anything in it is used.
 *
 * Why spool: a tar can only be read front to back, and the file that says what the archive holds
 * (`manifest.json`, or `index.json` for an OCI layout) comes after the layers in everything
 * Docker writes (it walks its export directory in name order: `blobs/`, `<v1-id>/` dirs, then
 * `index.json`, `manifest.json`, …). A request body cannot be read twice, so every entry is
 * written once to a private directory inside the layer store (same filesystem: a plain layer tar
 * is then hard-linked into its layer instead of copied). The caller removes the directory on
 * every path; one a crash leaves behind is swept when the layer store next opens.
 *
 * Nothing from the archive becomes a path: entries are stored under sequence numbers and looked
 * up through an in-memory map of the archive's own namespace. Names with `..` or a leading `/`,
 * symlinks pointing outside the archive, entries below a symlink, devices and the like are
 * refused. Blobs (`blobs/sha256/<hex>`) are hashed while they are written and refused at once
 * when their content does not match their name.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Header } from 'tar-stream';
import { extract as tarExtract } from 'tar-stream';
import { decompressStream } from '../archive/compression.js';
import { splitEntryPath } from '../archive/entry-path.js';
import { GrowingFile } from '../archive/growing-file.js';
import { writeAllv } from '../archive/write-all.js';
import { internal, invalidArgument, TsdockerError } from '../errors.js';
import { FileTooLargeError, readFileCapped } from '../store/atomic-file.js';
import { type Digest, digestHex, isHex64, isSha256Digest } from './digest.js';

/** One regular file of the archive, as spooled. */
export interface SpooledFile {
  /** The spool file holding its bytes. */
  readonly file: string;
  readonly size: number;
  /**
   * sha256 of the bytes for files below `blobs/` (verified against the name when it is one) and
   * for files a follower asked it for; null otherwise.
   */
  readonly digest: Digest | null;
}

/**
 * Told of each regular file of the archive as it starts arriving, with its first 512 bytes (all
 * of a smaller file), before any is written: it may follow the file while it is spooled
 * (`file.follow()`). Returns null to leave the file alone, or whether the spool should compute
 * the file's sha256 (`file.digest`, once complete).
 */
export type SpoolFollower = (
  entry: { path: string; size: number; head: Buffer },
  file: GrowingFile,
) => { digest: boolean } | null;

type ArchiveNode =
  | { kind: 'file'; spooled: SpooledFile }
  | { kind: 'dir' }
  | { kind: 'symlink'; target: readonly string[] };

/** Far more than any image archive needs (a few files per layer); bounds the in-memory map. */
export const MAX_ARCHIVE_ENTRIES = 100_000;
/** How much of a file a follower is shown before it decides (a tar header). */
const FOLLOWER_HEAD_BYTES = 512;
/** Spooled entries are written in pieces of about this size. */
const SPOOL_WRITE_BYTES = 1024 * 1024;
/** …or of this many chunks (below the kernel's IOV_MAX). */
const SPOOL_WRITE_CHUNKS = 512;
/** Linux's MAXSYMLINKS. */
const MAX_SYMLINK_HOPS = 40;
const BLOB_PATH = /^blobs\/sha256\/([^/]+)$/;

/**
 * Joins `relative` (slash-separated, not absolute) onto `base` without touching the disk; `..`
 * may not climb above the archive root. Returns null when it would.
 */
function lexicalJoin(base: readonly string[], relative: string): string[] | null {
  const parts = [...base];
  for (const part of relative.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(part);
  }
  return parts;
}

export class ArchiveSpool {
  readonly #dir: string;
  readonly #nodes = new Map<string, ArchiveNode>();
  /** Every directory some entry lives in, named or not. */
  readonly #parents = new Set<string>();
  #files = 0;

  readonly #follower: SpoolFollower | null;

  private constructor(dir: string, follower: SpoolFollower | null) {
    this.#dir = dir;
    this.#follower = follower;
  }

  /**
   * Reads the whole archive `input` (plain or compressed) into `dir`, an empty private directory.
   * A malformed or unsafe archive is an invalid-argument error; a failing disk is internal.
   */
  static async fill(input: Readable, dir: string, follower?: SpoolFollower): Promise<ArchiveSpool> {
    const spool = new ArchiveSpool(dir, follower ?? null);
    const source = decompressStream(input);
    const parser = tarExtract();
    // The iterator must exist before data flows: tar-stream drops entries nobody listens for.
    const entries = parser[Symbol.asyncIterator]();
    source.on('error', (err) => parser.destroy(err));
    source.pipe(parser);
    try {
      let count = 0;
      for (let next = await entries.next(); !next.done; next = await entries.next()) {
        if (++count > MAX_ARCHIVE_ENTRIES)
          throw invalidArgument(`invalid archive: more than ${MAX_ARCHIVE_ENTRIES} entries`);
        await spool.#add(next.value.header, next.value);
        next.value.resume();
      }
    } catch (err) {
      if (TsdockerError.is(err)) throw err;
      throw invalidArgument(`invalid archive: ${(err as Error).message}`, err);
    } finally {
      parser.destroy();
      source.destroy();
    }
    return spool;
  }

  async #add(header: Header, body: AsyncIterable<unknown>): Promise<void> {
    const name = header.name;
    const what = `archive entry "${name}"`;
    const parts = splitEntryPath(name, `invalid archive: ${what}`);
    const path = parts.join('/');
    if (parts.length === 0) {
      if (header.type === 'directory') return;
      throw invalidArgument(`invalid archive: ${what} names the root but is not a directory`);
    }
    for (let depth = 1; depth < parts.length; depth++) {
      const above = parts.slice(0, depth).join('/');
      const node = this.#nodes.get(above);
      if (node?.kind === 'symlink')
        throw invalidArgument(`invalid archive: ${what} is below the symlink "${above}"`);
      if (node?.kind === 'file')
        throw invalidArgument(`invalid archive: ${what} is below the file "${above}"`);
    }
    if (header.type !== 'directory' && (this.#parents.has(path) || this.#nodes.get(path)?.kind === 'dir')) {
      throw invalidArgument(`invalid archive: ${what} replaces a directory`);
    }

    switch (header.type) {
      case 'directory':
        if (this.#nodes.has(path) && this.#nodes.get(path)?.kind !== 'dir')
          throw invalidArgument(`invalid archive: ${what} replaces a file`);
        this.#nodes.set(path, { kind: 'dir' });
        break;
      case 'file':
      case 'contiguous-file':
        this.#nodes.set(path, {
          kind: 'file',
          spooled: await this.#spoolFile(path, header.size ?? 0, body, what),
        });
        break;
      case 'symlink': {
        const target = header.linkname ?? '';
        if (target === '' || target.includes('\0'))
          throw invalidArgument(`invalid archive: ${what} is a symlink without a valid target`);
        const resolved = target.startsWith('/') ? null : lexicalJoin(parts.slice(0, -1), target);
        if (!resolved)
          throw invalidArgument(`invalid archive: symlink ${what} points outside the archive (${target})`);
        this.#nodes.set(path, { kind: 'symlink', target: resolved });
        break;
      }
      case 'link': {
        const targetName = header.linkname ?? '';
        const targetPath = splitEntryPath(targetName, `invalid archive: hardlink ${what}`).join('/');
        const target = this.#nodes.get(targetPath);
        if (target?.kind !== 'file') {
          throw invalidArgument(
            `invalid archive: hardlink ${what} points to "${targetName}", which is not a file of the archive`,
          );
        }
        this.#nodes.set(path, target);
        break;
      }
      default:
        throw invalidArgument(`invalid archive: ${what} has unsupported type ${header.type ?? 'unknown'}`);
    }
    for (let depth = 1; depth < parts.length; depth++) this.#parents.add(parts.slice(0, depth).join('/'));
  }

  async #spoolFile(
    path: string,
    size: number,
    body: AsyncIterable<unknown>,
    what: string,
  ): Promise<SpooledFile> {
    const file = join(this.#dir, String(this.#files++));
    let hash = path.startsWith('blobs/') ? createHash('sha256') : null;
    let written = 0;
    let fh: FileHandle;
    try {
      fh = await open(file, 'wx', 0o600);
    } catch (err) {
      throw internal(`spooling ${what}: ${(err as Error).message}`, err);
    }
    let growing = null as GrowingFile | null; // set by offerToFollower
    // The follower is shown the file's first bytes once FOLLOWER_HEAD_BYTES have arrived (however
    // the network cut them), before anything is written.
    let head: Buffer[] | null = this.#follower ? [] : null;
    let headBytes = 0;
    /** Returns true when it hashed the head (the hash was asked for only now). */
    const offerToFollower = (): boolean => {
      const shown = head ?? [];
      head = null;
      if (!this.#follower) return false;
      const candidate = new GrowingFile(file);
      const follow = this.#follower({ path, size, head: Buffer.concat(shown) }, candidate);
      if (follow === null) return false;
      growing = candidate;
      if (!follow.digest || hash) return false;
      hash = createHash('sha256');
      for (const part of shown) hash.update(part);
      return true;
    };
    // Chunks are written in batches: one write per network-sized chunk is latency-bound. One
    // batch is written while the next is read, so receiving never waits for the disk unless it
    // is a whole batch ahead.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let writing: Promise<void> = Promise.resolve();
    const flush = async () => {
      await writing;
      if (pendingBytes === 0) return;
      const batch = pending;
      const bytes = pendingBytes;
      pending = [];
      pendingBytes = 0;
      writing = writeAllv(fh, batch).then(
        () => growing?.grew(bytes),
        (err: unknown) => {
          throw internal(`spooling ${what}: ${(err as Error).message}`, err);
        },
      );
      writing.catch(() => {}); // awaited by the next flush, or below
    };
    try {
      const chunks = body[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await chunks.next();
        } catch (err) {
          throw invalidArgument(`invalid archive: ${what} is truncated or corrupt`, err);
        }
        if (next.done) break;
        const chunk = next.value as Buffer;
        let hashed = false;
        if (head !== null) {
          head.push(chunk);
          headBytes += chunk.length;
          if (headBytes >= Math.min(FOLLOWER_HEAD_BYTES, size)) hashed = offerToFollower();
        }
        if (!hashed) hash?.update(chunk);
        written += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= SPOOL_WRITE_BYTES || pending.length >= SPOOL_WRITE_CHUNKS) await flush();
      }
      await flush();
      await writing;
    } catch (err) {
      growing?.fail(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      // Never close the file under a write still in flight.
      await writing.catch(() => {});
      await fh.close();
    }
    const digest: Digest | null = hash ? `sha256:${hash.digest('hex')}` : null;
    const blobName = BLOB_PATH.exec(path)?.[1];
    if (digest && blobName !== undefined && isHex64(blobName) && digestHex(digest) !== blobName) {
      const err = invalidArgument(
        `invalid archive: blob sha256:${blobName} does not match its content (sha256 is ${digest})`,
      );
      growing?.fail(err);
      throw err;
    }
    growing?.complete(digest);
    return { file, size: written, digest };
  }

  /** The file the archive-relative path `ref` (as a manifest names it) leads to, or null if none. */
  find(ref: string, what: string): SpooledFile | null {
    if (ref.includes('\0')) throw invalidArgument(`${what}: invalid path ${JSON.stringify(ref)}`);
    let parts = ref.startsWith('/') ? null : lexicalJoin([], ref);
    if (!parts) throw invalidArgument(`${what}: path ${JSON.stringify(ref)} is outside the archive`);
    for (let hops = 0; ; hops++) {
      if (hops > MAX_SYMLINK_HOPS)
        throw invalidArgument(`${what}: too many levels of symbolic links in ${JSON.stringify(ref)}`);
      const next = this.#followFirstSymlink(parts, ref, what);
      if (!next) break;
      parts = next;
    }
    const node = this.#nodes.get(parts.join('/'));
    if (!node) return null;
    if (node.kind !== 'file') throw invalidArgument(`${what}: ${JSON.stringify(ref)} is not a file`);
    return node.spooled;
  }

  /** Like `find`, but a missing file is an error. */
  resolve(ref: unknown, what: string): SpooledFile {
    if (typeof ref !== 'string' || ref === '')
      throw invalidArgument(`${what}: invalid path ${JSON.stringify(ref)}`);
    const found = this.find(ref, what);
    if (!found) throw invalidArgument(`${what}: ${JSON.stringify(ref)} is not in the archive`);
    return found;
  }

  /** Replaces the first symlink on the way to `parts` by its target; null when there is none. */
  #followFirstSymlink(parts: readonly string[], ref: string, what: string): string[] | null {
    for (let depth = 1; depth <= parts.length; depth++) {
      const node = this.#nodes.get(parts.slice(0, depth).join('/'));
      if (node?.kind === 'symlink') return [...node.target, ...parts.slice(depth)];
      if (node?.kind === 'file' && depth < parts.length)
        throw invalidArgument(`${what}: ${JSON.stringify(ref)} goes through a file`);
    }
    return null;
  }

  /**
   * The blob `digest` of an OCI layout (`blobs/sha256/<hex>`), checked to hold exactly the bytes
   * the digest names and, when given, `size` of them. The digest is validated before it becomes
   * part of a path.
   */
  blob(digest: unknown, what: string, size?: unknown): SpooledFile {
    if (!isSha256Digest(digest)) throw invalidArgument(`${what}: invalid digest ${JSON.stringify(digest)}`);
    const found = this.resolve(`blobs/sha256/${digestHex(digest)}`, what);
    if (found.digest !== digest)
      throw invalidArgument(`${what}: blob ${digest} does not match its content (sha256 is ${found.digest})`);
    if (size !== undefined && size !== found.size) {
      throw invalidArgument(`${what}: blob ${digest} has ${found.size} bytes, the descriptor says ${size}`);
    }
    return found;
  }

  /** Reads a small file whole, refusing one over `maxBytes` before reading it. */
  async read(file: SpooledFile, maxBytes: number, what: string): Promise<Buffer> {
    if (file.size > maxBytes) throw invalidArgument(`${what} is larger than ${maxBytes} bytes`);
    try {
      return await readFileCapped(file.file, maxBytes);
    } catch (err) {
      if (err instanceof FileTooLargeError) throw invalidArgument(`${what} is larger than ${maxBytes} bytes`);
      throw internal(`reading ${what}: ${(err as Error).message}`, err);
    }
  }

  /** Reads and parses a small JSON file (capped at `maxBytes`). */
  async readJson(file: SpooledFile, maxBytes: number, what: string): Promise<unknown> {
    const raw = await this.read(file, maxBytes, what);
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw invalidArgument(`${what}: invalid JSON: ${(err as Error).message}`);
    }
  }
}
