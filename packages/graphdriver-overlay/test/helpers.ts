/** Shared pieces of the overlay driver's own tests: temp roots that clean up, tar and tree readers. */
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { graphDriverContext } from '@tsdocker/core/testkit';
import { extract, type Header } from 'tar-stream';
import { afterEach } from 'vitest';
import overlay2, { type OverlayDriver } from '../src/index.js';
import { unmountBelow } from './mount-cleanup.js';

/**
 * Registers an afterEach that cleans every driver and temp root made through the returned
 * functions: drivers are cleaned up, then whatever is still mounted below the roots is
 * detached by path, then the roots are removed. Runs even when the test failed.
 */
export function useTempRoots() {
  const roots: string[] = [];
  const drivers: OverlayDriver[] = [];
  afterEach(async () => {
    for (const d of drivers.splice(0)) await d.cleanup().catch(() => {});
    for (const root of roots.splice(0)) {
      unmountBelow(root);
      await rm(root, { recursive: true, force: true });
    }
  });
  async function tempRoot(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'tsdocker-overlay-'));
    roots.push(root);
    return root;
  }
  /** An overlay driver in a fresh root (or in `root`'s context when given, to reopen it). */
  async function openDriver(root?: string): Promise<OverlayDriver> {
    const ctx = await graphDriverContext(root ?? (await tempRoot()), overlay2);
    const driver = (await overlay2.create(ctx, {})) as OverlayDriver;
    drivers.push(driver);
    return driver;
  }
  return { tempRoot, openDriver, track: (d: OverlayDriver) => drivers.push(d) };
}

export interface TarEntry {
  header: Header;
  body: string;
}

export async function readTar(stream: Readable): Promise<TarEntry[]> {
  const parser = extract();
  const entries: TarEntry[] = [];
  stream.pipe(parser);
  for await (const entry of parser) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.push({ header: entry.header, body: Buffer.concat(chunks).toString('utf8') });
  }
  return entries;
}

/** One line per path below `dir`: type, permissions, owner, content hash or link target. */
export async function treeSnapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(abs: string, rel: string): Promise<void> {
    for (const entry of (await readdir(abs)).sort()) {
      const path = join(abs, entry);
      const key = `${rel}/${entry}`;
      const st = await lstat(path);
      let what = 'other';
      if (st.isDirectory()) what = 'dir';
      else if (st.isSymbolicLink()) what = `symlink->${await readlink(path)}`;
      else if (st.isFile())
        what = `file:${createHash('sha256')
          .update(await readFile(path))
          .digest('hex')
          .slice(0, 12)}`;
      else if (st.isCharacterDevice()) what = `chr:${st.rdev}`;
      else if (st.isFIFO()) what = 'fifo';
      out[key] = `${what} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) await walk(path, key);
    }
  }
  await walk(dir, '');
  return out;
}

/** Runs `use` on the mounted layer, putting it back afterwards. */
export async function mounted<T>(
  driver: OverlayDriver,
  id: string,
  use: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await driver.get(id);
  try {
    return await use(dir);
  } finally {
    await driver.put(id);
  }
}
