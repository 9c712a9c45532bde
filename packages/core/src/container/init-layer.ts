/**
 * The init layer (moby daemon/initlayer): mount points and bind-mount targets every container
 * needs, made once between the image and the container's writable layer so they never show up
 * in `docker diff` or a commit. It also neuters an image whose /dev is a symlink.
 */
import { chmod, lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const DIRS = ['/dev/pts', '/dev/shm', '/proc', '/sys'];
const FILES = ['/.dockerenv', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/dev/console'];

/**
 * Every directory to make, parents before children: level n holds the paths of depth n+1 (the
 * directories themselves and the parents of the files). Paths of one level are independent.
 */
const DIR_LEVELS: string[][] = (() => {
  const levels: Array<Set<string>> = [];
  const add = (parts: string[]) => {
    for (let i = 1; i <= parts.length; i++) {
      levels[i - 1] ??= new Set();
      levels[i - 1]?.add(parts.slice(0, i).join('/'));
    }
  };
  for (const dir of DIRS) add(dir.split('/').filter(Boolean));
  for (const file of FILES) add(file.split('/').filter(Boolean).slice(0, -1));
  return levels.map((level) => [...level]);
})();

async function ensureRealDir(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (st && !st.isDirectory()) await rm(path, { force: true, recursive: true });
  await mkdir(path, { recursive: true, mode: 0o755 });
}

async function ensureFile(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (st && !st.isFile()) await rm(path, { force: true, recursive: true });
  if (!st?.isFile()) await writeFile(path, '', { mode: 0o755 });
  await chmod(path, 0o755);
}

async function linkMtab(root: string): Promise<void> {
  const mtab = join(root, 'etc/mtab');
  await rm(mtab, { force: true, recursive: true });
  await symlink('/proc/mounts', mtab);
}

/**
 * Populates `root` (the init layer's own directory, on top of the image). Each parent is made a
 * real directory inside the layer (never a symlink out of it) before anything goes into it;
 * paths that do not depend on each other are made at the same time (each step is a round trip
 * to the file system, on the path of every `create`).
 */
export async function setupInitLayer(root: string): Promise<void> {
  for (const level of DIR_LEVELS) await Promise.all(level.map((dir) => ensureRealDir(join(root, dir))));
  await Promise.all([...FILES.map((file) => ensureFile(join(root, file))), linkMtab(root)]);
}
