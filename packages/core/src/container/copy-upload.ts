/**
 * Extracting a `docker cp` upload (`PUT /containers/{id}/archive`) into a directory of a
 * container, as moby's `archive.Untar` with `TarOptions{NoOverwriteDirNonDir, ChownOpts}` does.
 *
 * The writing is core's `extractLayer`, which never writes, chmods or chowns outside the
 * directory (`..`, absolute names, symlinked parents and link targets are refused). Before it,
 * the upload passes through `rewriteTar`, which applies what a layer has no notion of: the
 * refusal to swap a directory for a non-directory (or back), and the owner `-a` asks for.
 * Whiteout names are ordinary files here, as in Docker's cp.
 */
import { lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { decompressStream } from '../archive/compression.js';
import { splitEntryPath } from '../archive/entry-path.js';
import { extractLayer } from '../archive/extract.js';
import { invalidArgument } from '../errors.js';
import { type EntryHeader, rewriteTar } from './tar-rewrite.js';

export interface UploadOptions {
  /** Refuse to replace a directory with a non-directory and vice versa. */
  noOverwriteDirNonDir: boolean;
  /** Every entry gets this owner (`docker cp -a` into a container with a `User`). */
  owner?: { uid: number; gid: number };
}

/**
 * Tracks what each path is while the upload is applied: the directory as it was, updated by the
 * entries already passed (which the extraction applies in the same order).
 */
class DirNonDirGuard {
  /** Relative path -> is a directory, for paths the upload has written (or implied). */
  private readonly written = new Map<string, boolean>();

  constructor(
    private readonly dir: string,
    /** The directory as the container sees it, for messages. */
    private readonly shownDir: string,
  ) {}

  async check(header: EntryHeader): Promise<void> {
    let parts: string[];
    try {
      parts = splitEntryPath(header.name, `archive entry "${header.name}"`);
    } catch {
      return; // the extraction refuses it with the reason
    }
    if (parts.length === 0) return;
    const incomingDir = header.type === 'directory';
    const existing = await this.existingIsDir(parts);
    if (existing !== null && existing !== incomingDir) {
      const path = posix.join(this.shownDir, ...parts);
      throw invalidArgument(
        existing
          ? `cannot overwrite directory "${path}" with non-directory "${this.shownDir}"`
          : `cannot overwrite non-directory "${path}" with directory "${this.shownDir}"`,
      );
    }
    for (let depth = 1; depth < parts.length; depth++) {
      const rel = parts.slice(0, depth).join('/');
      if (!this.written.has(rel)) this.written.set(rel, true);
    }
    this.written.set(parts.join('/'), incomingDir);
  }

  /** Whether `parts` is a directory now (null: absent, or behind something the extraction refuses). */
  private async existingIsDir(parts: string[]): Promise<boolean | null> {
    const known = this.written.get(parts.join('/'));
    if (known !== undefined) return known;
    // Ancestors are looked at one by one and never followed: a symlinked or missing parent
    // means there is nothing there to protect (the extraction refuses or creates it).
    for (let depth = 1; depth <= parts.length; depth++) {
      const rel = parts.slice(0, depth).join('/');
      const knownAncestor = this.written.get(rel);
      if (knownAncestor !== undefined) {
        if (!knownAncestor) return null;
        continue;
      }
      const st = await lstat(join(this.dir, rel)).catch(() => null);
      if (!st) return null;
      if (depth === parts.length) return st.isDirectory();
      if (!st.isDirectory()) return null;
    }
    return null;
  }
}

/**
 * Extracts `upload` (a tar, plain or gzip) into `dir`, an existing real directory of the
 * container (`shownDir` is its path inside the container, for messages).
 */
export async function extractUpload(
  dir: string,
  shownDir: string,
  upload: Readable,
  opts: UploadOptions,
): Promise<void> {
  const guard = opts.noOverwriteDirNonDir ? new DirNonDirGuard(dir, shownDir) : null;
  const owner = opts.owner;
  const checked = rewriteTar(decompressStream(upload), async (header) => {
    await guard?.check(header);
    if (!owner) return header;
    const pax = header.pax ? { ...header.pax } : null;
    if (pax) {
      delete pax.uid;
      delete pax.gid;
      delete pax.uname;
      delete pax.gname;
    }
    return { ...header, uid: owner.uid, gid: owner.gid, uname: '', gname: '', pax };
  });
  await extractLayer(dir, checked, { whiteouts: 'keep' });
}
