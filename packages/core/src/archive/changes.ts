/**
 * Filesystem changes between two trees, after moby's naive ChangesDirs/ExportChanges: what
 * `docker diff` lists and what a layer diff tar carries. Paths are absolute in the layer (`/etc`).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Change } from '../drivers/graph-driver.js';
import { invalidArgument } from '../errors.js';
import { joinEntryPath, splitEntryPath } from './entry-path.js';
import { RootedTree } from './rooted-tree.js';
import { tarStream } from './tar-writer.js';
import { whiteoutEntryName } from './whiteouts.js';

export const CHANGE_MODIFIED = 0;
export const CHANGE_ADDED = 1;
export const CHANGE_DELETED = 2;

/** A node of either tree; `null` path stands for the missing parent of a base layer (empty). */
interface Node {
  path: string | null;
  st: BigIntStats | null;
}

const EMPTY_ROOT: Node = { path: null, st: null };
const NS_PER_SECOND = 1_000_000_000n;
const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Lists what `layerRoot` changed relative to `parentRoot` (`null`: an empty tree). Entries come
 * in tree order, each directory before its children, names sorted:
 * - added (1) and deleted (2) paths; below a deleted directory only the directory is listed, and
 *   below an added one every path is;
 * - modified (0) when type, permissions, owner, device number, or (for non-directories) size,
 *   mtime or symlink target differ. A directory's own mtime and size are ignored (moby#9874);
 * - a directory with any change inside is listed as modified too, before what it contains, as
 *   moby does so that a diff tar restores its metadata. The root itself is never listed.
 */
export async function computeChanges(layerRoot: string, parentRoot: string | null): Promise<Change[]> {
  const changes: Change[] = [];
  const newRoot = await rootNode(layerRoot);
  const oldRoot = parentRoot === null ? EMPTY_ROOT : await rootNode(parentRoot);
  await addChanges(newRoot, oldRoot, '/', changes, true);
  return changes;
}

async function rootNode(root: string): Promise<Node> {
  const path = await realpath(root);
  return { path, st: await lstat(path, { bigint: true }) };
}

/**
 * Appends the changes at and below `path`. `listed` says the caller already listed `path` itself
 * (as modified); `old` is null when `path` is new.
 */
async function addChanges(
  node: Node,
  old: Node | null,
  path: string,
  out: Change[],
  listed: boolean,
): Promise<void> {
  if (old === null) {
    out.push({ path, kind: CHANGE_ADDED });
    listed = true;
  }
  if (!node.st?.isDirectory() || node.path === null) return;

  // Reserve the directory's own "modified" slot; it is dropped if nothing below changed.
  const slot = listed || path === '/' ? -1 : out.push({ path, kind: CHANGE_MODIFIED }) - 1;
  const start = out.length;

  const newNames = await readdir(node.path);
  // Only a directory's old children count: a file replaced by a directory has none.
  const oldNames = old?.path && old.st?.isDirectory() ? await readdir(old.path) : [];
  const oldSet = new Set(oldNames);
  const newSet = new Set(newNames);
  const names = [...new Set([...newNames, ...oldNames])].sort();

  for (const name of names) {
    const childPath = path === '/' ? `/${name}` : `${path}/${name}`;
    if (!newSet.has(name)) {
      out.push({ path: childPath, kind: CHANGE_DELETED });
      continue;
    }
    const child = await statNode(join(node.path, name));
    if (child === null) continue; // vanished meanwhile
    if (!oldSet.has(name) || old?.path == null) {
      await addChanges(child, null, childPath, out, false);
      continue;
    }
    const oldChild = await statNode(join(old.path, name));
    if (oldChild === null) {
      await addChanges(child, null, childPath, out, false);
      continue;
    }
    const modified = await differs(oldChild, child);
    if (modified) out.push({ path: childPath, kind: CHANGE_MODIFIED });
    await addChanges(child, oldChild, childPath, out, modified);
  }

  if (slot >= 0 && out.length === start) out.pop();
}

async function statNode(path: string): Promise<Node | null> {
  try {
    return { path, st: await lstat(path, { bigint: true }) };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Whether a path counts as modified by `computeChanges`' rules, given its old and new lstat (with
 * `bigint`): for drivers that find candidate changes their own way (overlay's upper directory).
 */
export function entryModified(
  oldPath: string,
  oldSt: BigIntStats,
  newPath: string,
  newSt: BigIntStats,
): Promise<boolean> {
  return differs({ path: oldPath, st: oldSt }, { path: newPath, st: newSt });
}

/** moby's statDifferent, plus the symlink target (two targets of one length are not the same). */
async function differs(a: Node, b: Node): Promise<boolean> {
  const x = a.st!;
  const y = b.st!;
  if (x.mode !== y.mode || x.uid !== y.uid || x.gid !== y.gid || x.rdev !== y.rdev) return true;
  if (x.isDirectory()) return false;
  if (x.size !== y.size || !sameFsTime(x.mtimeNs, y.mtimeNs)) return true;
  if (x.isSymbolicLink()) return (await readlink(a.path!)) !== (await readlink(b.path!));
  return false;
}

/**
 * Equal times, or equal seconds where one side has no sub-second part: a layer extracted from a
 * tar has whole-second mtimes, and must not look modified against the original (moby's sameFsTime).
 */
function sameFsTime(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  return a / NS_PER_SECOND === b / NS_PER_SECOND && (a % NS_PER_SECOND === 0n || b % NS_PER_SECOND === 0n);
}

/** Validates a change path (`/a/b`) and returns its components. */
function changeParts(change: Change): string[] {
  if (!change.path.startsWith('/')) throw invalidArgument(`change path "${change.path}" is not absolute`);
  const parts = splitEntryPath(change.path.slice(1), `change "${change.path}"`);
  if (parts.length === 0) throw invalidArgument('the root cannot be a change');
  return parts;
}

const byPath = (a: Change, b: Change) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Writes the diff tar of `changes` (from `computeChanges`) out of `layerRoot`: added and modified
 * paths as entries (a directory without its content, which the list has separately), deleted ones
 * as `.wh.` whiteouts. Paths that vanished since the list was made are skipped, as moby does.
 */
export function exportChanges(layerRoot: string, changes: readonly Change[]): Readable {
  const sorted = changes.map((change) => ({ change, parts: changeParts(change) }));
  sorted.sort((a, b) => byPath(a.change, b.change));
  return tarStream(async (writer) => {
    const tree = new RootedTree(await realpath(layerRoot));
    for (const { change, parts } of sorted) {
      const name = joinEntryPath(parts);
      if (change.kind === CHANGE_DELETED) {
        await writer.addWhiteout(whiteoutEntryName(joinEntryPath(parts.slice(0, -1)), parts.at(-1)!));
        continue;
      }
      if (!(await tree.ancestorsExist(parts, `change "${change.path}"`))) continue;
      const abs = tree.path(parts);
      try {
        await writer.add(abs, name, await lstat(abs));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  });
}

/**
 * The size a layer adds (moby's ChangesSize): the sizes of its added and modified non-directories
 * (a symlink counts its target's length), each multiply-linked file once.
 */
export async function changesSize(layerRoot: string, changes: readonly Change[]): Promise<number> {
  const tree = new RootedTree(await realpath(layerRoot));
  const seenInodes = new Set<bigint>();
  let size = 0;
  for (const change of changes) {
    if (change.kind === CHANGE_DELETED) continue;
    const parts = changeParts(change);
    if (!(await tree.ancestorsExist(parts, `change "${change.path}"`))) continue;
    let st: BigIntStats;
    try {
      st = await lstat(tree.path(parts), { bigint: true });
    } catch (err) {
      if (isNotFound(err)) continue;
      throw err;
    }
    if (st.isDirectory()) continue;
    if (st.nlink > 1n) {
      if (seenInodes.has(st.ino)) continue;
      seenInodes.add(st.ino);
    }
    size += Number(st.size);
  }
  return size;
}
