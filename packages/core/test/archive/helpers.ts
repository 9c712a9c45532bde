/** Shared fixtures of the archive tests: tar building, temp dirs, tree snapshots. */
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type ExtractedLayer, extractLayer } from '@tsdocker/core';
import type { Header } from 'tar-stream';
import { extract, pack } from 'tar-stream';
import { afterEach } from 'vitest';
import { extractLayerInThread, type WhiteoutMode } from '../../src/archive/extract.js';
import { syncExtractFs } from '../../src/archive/extract-fs.js';

export type TarEntry = Partial<Header> & { name: string; body?: string | Buffer };

/** Builds a tar in memory from entries; a `body` makes a regular file unless a type is given. */
export async function buildTar(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      p.entry({ mtime: new Date(1_600_000_000_000), ...header }, body ?? '', (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }
  p.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export const tarStreamOf = async (entries: TarEntry[]) => Readable.from([await buildTar(entries)]);

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Lists a tar's headers (name, type, linkname, …) in order. */
export async function listTar(tar: Buffer): Promise<Header[]> {
  const parser = extract();
  const headers: Header[] = [];
  const done = (async () => {
    for await (const entry of parser) {
      headers.push(entry.header);
      entry.resume();
    }
  })();
  parser.end(tar);
  await done;
  return headers;
}

/** A fresh temp dir per call, removed after the test whatever happened. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsdocker-archive-'));
    dirs.push(dir);
    return dir;
  };
}

/**
 * One line per path below `root`: type, mode, owner, size, content hash or link target, device
 * number and mtime in whole seconds: of non-directories by default, of everything with `times: 'all'`.
 */
export async function snapshot(
  root: string,
  opts: { times?: 'files' | 'all' | 'none' } = {},
): Promise<Record<string, string>> {
  const times = opts.times ?? 'files';
  const out: Record<string, string> = {};
  async function walk(dir: string, rel: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name);
      const path = `${rel}/${name}`;
      const st = await lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      let what: string;
      if (st.isDirectory()) what = 'dir';
      else if (st.isSymbolicLink()) what = `symlink->${await readlink(abs)}`;
      else if (st.isFile())
        what = `file:${st.size}:${createHash('sha256')
          .update(await readFile(abs))
          .digest('hex')
          .slice(0, 12)}`;
      else if (st.isFIFO()) what = 'fifo';
      else if (st.isCharacterDevice()) what = `chr:${st.rdev}`;
      else if (st.isBlockDevice()) what = `blk:${st.rdev}`;
      else what = 'other';
      const timed = times === 'all' || (times === 'files' && !st.isDirectory());
      // Whole seconds by default: a tar keeps no more. `all` (sentinels) compares exactly.
      const time = timed ? ` t=${times === 'all' ? st.mtimeMs : Math.floor(st.mtimeMs / 1000)}` : '';
      out[path] = `${what} ${st.isSymbolicLink() ? '' : mode} ${st.uid}:${st.gid}${time}`;
      if (st.isDirectory()) await walk(abs, path);
    }
  }
  if (times === 'all') out['.'] = `dir ${(await lstat(root)).mtimeMs}`;
  await walk(root, '');
  return out;
}

export type Extract = (
  root: string,
  tar: Readable,
  opts?: { whiteouts?: WhiteoutMode },
) => Promise<ExtractedLayer>;

/**
 * The ways a layer is extracted, for running the same cases through each: in the calling thread
 * with the async fs calls (the built package's default), with the sync ones (the worker's, run
 * here from the sources), and in the built package's worker thread.
 */
export const extractions: Array<{ name: string; extract: Extract }> = [
  { name: 'async fs', extract: (root, tar, opts) => extractLayer(root, tar, opts) },
  {
    name: 'sync fs',
    extract: (root, tar, opts) => extractLayerInThread(root, tar, { ...opts, fs: syncExtractFs }),
  },
  { name: 'worker', extract: (root, tar, opts) => extractLayer(root, tar, { ...opts, worker: true }) },
];
