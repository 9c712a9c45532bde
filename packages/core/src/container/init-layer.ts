/**
 * The init layer (moby daemon/initlayer): mount points and bind-mount targets every container
 * needs, made once between the image and the container's writable layer so they never show up
 * in `docker diff` or a commit. It also neuters an image whose /dev is a symlink.
 */
import { chmod, lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const DIRS = ['/dev/pts', '/dev/shm', '/proc', '/sys'];
const FILES = ['/.dockerenv', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/dev/console'];

async function ensureRealDir(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (st && !st.isDirectory()) await rm(path, { force: true, recursive: true });
  await mkdir(path, { recursive: true, mode: 0o755 });
}

/** Populates `root` (the init layer's own directory, on top of the image). */
export async function setupInitLayer(root: string): Promise<void> {
  for (const dir of DIRS) {
    // Each parent must be a real directory inside the layer, never a symlink out of it.
    const parts = dir.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) await ensureRealDir(join(root, ...parts.slice(0, i)));
  }
  for (const file of FILES) {
    const parent = file.split('/').slice(0, -1).filter(Boolean);
    for (let i = 1; i <= parent.length; i++) await ensureRealDir(join(root, ...parent.slice(0, i)));
    const path = join(root, file);
    const st = await lstat(path).catch(() => null);
    if (st && !st.isFile()) await rm(path, { force: true, recursive: true });
    if (!st?.isFile()) await writeFile(path, '', { mode: 0o755 });
    await chmod(path, 0o755);
  }
  const mtab = join(root, 'etc/mtab');
  await rm(mtab, { force: true, recursive: true });
  await symlink('/proc/mounts', mtab);
}
