/**
 * Resolves a path inside a container's root filesystem the way the container would see it:
 * symlinks are followed, but `..` and absolute link targets are clamped to the root, so the
 * result never leaves it (moby's FollowSymlinkInScope).
 */
import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { invalidArgument } from '../errors.js';

const MAX_LINKS = 255;

export async function resolveInRoot(root: string, path: string): Promise<string> {
  let pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = join(root, ...done, part);
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch {
      // Missing components resolve lexically: the caller creates or reports them.
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw invalidArgument(`too many levels of symbolic links resolving ${path}`);
    const target = await readlink(candidate);
    const rest = target.split('/').filter(Boolean);
    if (target.startsWith('/')) done.length = 0;
    pending = [...rest, ...pending];
  }
  return join(root, ...done);
}
