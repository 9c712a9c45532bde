/**
 * Where `docker cp` paths lead inside a container's root. moby resolves them in a chroot of the
 * container's filesystem; here symlinks are resolved by `resolveInRoot` with the container's root
 * as `/`, so a path (or a symlink on it) never leads out of the root. The caller keeps the tree
 * still meanwhile (the container is frozen while its files are copied).
 */
import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { notFound } from '../errors.js';
import { resolveInRoot } from './scoped-path.js';

/** Go's `filepath.Base`: trailing slashes dropped, `/` for the root. */
export function goBase(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return path === '' ? '.' : '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Go's `path.Clean` of an absolute path. */
function cleanAbsolute(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/**
 * The container path moby works with: `filepath.Join("/", path)`, keeping a trailing `/` or
 * `/.` (`PreserveTrailingDotOrSeparator`), which asks for the directory a symlink points to.
 */
export function containerPath(path: string): string {
  let abs = cleanAbsolute(`/${path}`);
  if (goBase(abs) !== '.' && goBase(path) === '.') abs += abs.endsWith('/') ? '.' : '/.';
  if (!abs.endsWith('/') && path.endsWith('/')) abs += '/';
  return abs;
}

/** True when the path's last component must be followed (`/link/`, `/link/.`). */
const followsLast = (abs: string): boolean => abs === '/' || abs.endsWith('/') || goBase(abs) === '.';

const isMissing = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** moby's containerFileNotFound: 404 naming the path and the container as the client gave them. */
export const fileNotFound = (path: string, container: string) =>
  notFound(`Could not find the file ${path} in container ${container}`);

export interface ResolvedPath {
  /** The container path (`containerPath`). */
  absPath: string;
  /** Its base name, as moby's stat and archive name it (`goBase`). */
  name: string;
  /** Where it is on the host. */
  hostPath: string;
  /** Its lstat. */
  st: BigIntStats;
}

/**
 * What `HEAD`/`GET /archive` look at: every component but the last resolved inside the root,
 * the last one not followed unless the path ends in `/` or `/.`. Missing is a 404 (`what` names
 * the path and the container in it).
 */
export async function resolveForStat(
  root: string,
  path: string,
  what: { path: string; container: string },
): Promise<ResolvedPath> {
  const absPath = containerPath(path);
  const name = goBase(absPath);
  const hostPath = followsLast(absPath)
    ? await resolveInRoot(root, absPath)
    : join(await resolveInRoot(root, posix.dirname(absPath)), posix.basename(absPath));
  let st: BigIntStats;
  try {
    st = await lstat(hostPath, { bigint: true });
  } catch (err) {
    if (isMissing(err)) throw fileNotFound(what.path, what.container);
    throw err;
  }
  // `lstat("/file/")` fails in the container too.
  if (followsLast(absPath) && !st.isDirectory()) throw fileNotFound(what.path, what.container);
  return { absPath, name, hostPath, st };
}

/** A host path below `root` as the container sees it (`/etc`). */
export function inContainer(root: string, hostPath: string): string {
  const rel = relative(root, hostPath);
  return rel === '' ? '/' : `/${rel}`;
}

/** Where a symlink at `absPath` finally leads, inside the root (moby's FollowSymlinkInScope). */
export async function linkTargetInRoot(root: string, absPath: string): Promise<string> {
  return inContainer(root, await resolveInRoot(root, absPath));
}

/**
 * What `PUT /archive` extracts into: the path with every symlink followed, the last one too, so
 * that a link to a directory works. Missing is a 404.
 */
export async function resolveForExtract(
  root: string,
  path: string,
  what: { path: string; container: string },
): Promise<{ hostPath: string; absPath: string; st: BigIntStats }> {
  const hostPath = await resolveInRoot(root, containerPath(path));
  try {
    const st = await lstat(hostPath, { bigint: true });
    return { hostPath, absPath: inContainer(root, hostPath), st };
  } catch (err) {
    if (isMissing(err)) throw fileNotFound(what.path, what.container);
    throw err;
  }
}
