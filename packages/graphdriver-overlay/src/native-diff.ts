/**
 * The diff of an overlay layer read straight from its upper (`diff`) directory, after moby's
 * overlay whiteout converter: the directory is packed as is, except that a 0:0 character device
 * becomes the tar whiteout `.wh.<name>` and an opaque directory is followed by its
 * `.wh..wh..opq` marker. Whiteout entries are written by core's tar writer exactly as the naive
 * diff writes them, so both diffs of one change carry the same whiteouts.
 */
import type { BigIntStats, Stats } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  isOverlayWhiteout,
  type LayerTarWriter,
  tarStream,
  WHITEOUT_OPAQUE_DIR,
  WHITEOUT_PREFIX,
} from '@tsdocker/core';
import { readOpaqueDirs } from './opaque-dirs.js';

/** lstat calls `diffDirSize` keeps in flight per directory. */
const SIZE_BATCH = 32;
const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
const childName = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

/** Streams the layer tar of upper directory `diffDir` (tar whiteouts in place of overlay ones). */
export function packDiffDir(diffDir: string): Readable {
  return tarStream(async (writer) => {
    const root = await realpath(diffDir);
    const opaque = await readOpaqueDirs(root);
    if (opaque.has('')) await writer.addWhiteout(WHITEOUT_OPAQUE_DIR);
    await packChildren(writer, root, '', opaque);
  });
}

async function packChildren(writer: LayerTarWriter, abs: string, rel: string, opaque: Set<string>) {
  for (const name of (await readdir(abs)).sort()) {
    const childAbs = join(abs, name);
    const childRel = childName(rel, name);
    let st: Stats;
    try {
      st = await lstat(childAbs);
    } catch (err) {
      if (isNotFound(err)) continue; // removed meanwhile
      throw err;
    }
    if (isOverlayWhiteout(st)) {
      await writer.addWhiteout(childName(rel, `${WHITEOUT_PREFIX}${name}`));
      continue;
    }
    await writer.add(childAbs, childRel, st);
    if (!st.isDirectory()) continue;
    if (opaque.has(childRel)) await writer.addWhiteout(`${childRel}/${WHITEOUT_OPAQUE_DIR}`);
    await packChildren(writer, childAbs, childRel, opaque);
  }
}

/**
 * What an upper directory adds (moby's directory.Size): the sizes of its non-directories, a
 * symlink counting its target's length and each multiply-linked file once; whiteouts weigh 0.
 */
export async function diffDirSize(diffDir: string): Promise<number> {
  const seen = new Set<bigint>();
  let size = 0;
  async function measure(path: string): Promise<void> {
    let st: BigIntStats;
    try {
      st = await lstat(path, { bigint: true });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (st.isDirectory()) {
      await walk(path);
      return;
    }
    if (st.nlink > 1n) {
      if (seen.has(st.ino)) return;
      seen.add(st.ino);
    }
    size += Number(st.size);
  }
  async function walk(abs: string): Promise<void> {
    const names = await readdir(abs);
    // A batch of lstats in flight at once: one after another, each waits a thread-pool round trip.
    for (let i = 0; i < names.length; i += SIZE_BATCH) {
      await Promise.all(names.slice(i, i + SIZE_BATCH).map((name) => measure(join(abs, name))));
    }
  }
  await walk(await realpath(diffDir));
  return size;
}
