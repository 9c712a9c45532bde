/**
 * `docker diff` of an overlay layer from its upper (`diff`) directory: only what the upper holds
 * can have changed, so only it is walked, and each candidate is checked against the parent's
 * merged view with core's rules. The result is exactly the naive diff's (`computeChanges` on the
 * two merged trees), in the same order, without walking the unchanged rest of the image.
 *
 * The merged view of an upper directory is its own entries (whiteouts hiding names) plus, unless
 * it hides the layers below, the parent's entries there. It hides them when it is opaque, when a
 * directory above it does, or when the parent has no directory at that path.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHANGE_ADDED,
  CHANGE_DELETED,
  CHANGE_MODIFIED,
  type Change,
  entryModified,
  isOverlayWhiteout,
} from '@tsdocker/core';
import { readOpaqueDirs } from './opaque-dirs.js';

const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

async function lstatOrNull(path: string): Promise<BigIntStats | null> {
  try {
    return await lstat(path, { bigint: true });
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

const childPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
const childRel = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

interface Walk {
  opaque: Set<string>;
  out: Change[];
}

/**
 * The changes of the layer whose upper directory is `diffDir` relative to `parentRoot`, the
 * parent's merged tree (`null`: no parent, everything is added).
 */
export async function upperChanges(diffDir: string, parentRoot: string | null): Promise<Change[]> {
  const upper = await realpath(diffDir);
  const walk: Walk = { opaque: await readOpaqueDirs(upper), out: [] };
  const old = parentRoot === null ? null : await realpath(parentRoot);
  await dirChanges(walk, upper, old, '/', '', walk.opaque.has('') || old === null, true);
  return walk.out;
}

/**
 * Appends the changes below directory `path`. `oldDir` is the same directory in the parent's
 * view (null when there is none); `listed` says `path` itself is already listed.
 */
async function dirChanges(
  walk: Walk,
  upperDir: string,
  oldDir: string | null,
  path: string,
  rel: string,
  hidesLower: boolean,
  listed: boolean,
): Promise<void> {
  const { out } = walk;
  // The directory's own "modified" slot, dropped if nothing below it changed (as computeChanges).
  const slot = listed ? -1 : out.push({ path, kind: CHANGE_MODIFIED }) - 1;
  const start = out.length;

  const upperNames = await readdir(upperDir);
  const inUpper = new Set(upperNames);
  // Where lower entries show through, the ones the upper does not name are unchanged.
  const oldNames = hidesLower && oldDir !== null ? await readdir(oldDir) : [];
  const names = [...new Set([...upperNames, ...oldNames])].sort();

  for (const name of names) {
    const cPath = childPath(path, name);
    const cRel = childRel(rel, name);
    if (!inUpper.has(name)) {
      out.push({ path: cPath, kind: CHANGE_DELETED }); // hidden lower entry
      continue;
    }
    const upperPath = join(upperDir, name);
    const st = await lstatOrNull(upperPath);
    if (st === null) continue; // vanished meanwhile
    const oldPath = oldDir === null ? null : join(oldDir, name);
    const oldSt = oldPath === null ? null : await lstatOrNull(oldPath);
    if (isOverlayWhiteout(st)) {
      if (oldSt !== null) out.push({ path: cPath, kind: CHANGE_DELETED });
      continue;
    }
    if (oldSt === null || oldPath === null) {
      await addedTree(walk, upperPath, st, cPath);
      continue;
    }
    const modified = await entryModified(oldPath, oldSt, upperPath, st);
    if (modified) out.push({ path: cPath, kind: CHANGE_MODIFIED });
    if (!st.isDirectory()) continue;
    const oldIsDir = oldSt.isDirectory();
    const childHides = hidesLower || walk.opaque.has(cRel) || !oldIsDir;
    await dirChanges(walk, upperPath, oldIsDir ? oldPath : null, cPath, cRel, childHides, modified);
  }

  if (slot >= 0 && out.length === start) out.pop();
}

/** A path the parent did not have: it and everything below it are added (whiteouts hide nothing). */
async function addedTree(walk: Walk, abs: string, st: BigIntStats, path: string): Promise<void> {
  walk.out.push({ path, kind: CHANGE_ADDED });
  if (!st.isDirectory()) return;
  for (const name of (await readdir(abs)).sort()) {
    const childAbs = join(abs, name);
    const childSt = await lstatOrNull(childAbs);
    if (childSt === null || isOverlayWhiteout(childSt)) continue;
    await addedTree(walk, childAbs, childSt, childPath(path, name));
  }
}
