/**
 * Fixtures of the image tests: a temp data root per test, the image service over the real vfs
 * driver, tar building, and a logger that remembers what it was told.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  createImageService,
  type DiffGraphDriver,
  type GraphImageService,
  type ImageServiceOptions,
  type Logger,
} from '@tsdocker/core';
import { type Header, pack } from 'tar-stream';
import { afterEach } from 'vitest';
// The vfs driver as it ships (core cannot depend on a driver package, so it is reached by path).
import vfs from '../../../graphdriver-vfs/dist/index.js';

/** `shared/fixtures/images`, beside the project root. */
export const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/images/', import.meta.url));

/** A fresh temp dir per call, removed after the test whatever happened. */
export function useTempRoots(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsdocker-image-'));
    dirs.push(dir);
    return dir;
  };
}

export interface LogEntry {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

export function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      entries.push({ level, msg, fields });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries };
}

export interface TestDaemon {
  svc: GraphImageService;
  /** The real vfs driver (as the daemon wraps it: with core's naive diff). */
  driver: DiffGraphDriver;
  dataRoot: string;
  log: LogEntry[];
  /** The vfs layer directories on disk. */
  driverLayers(): Promise<string[]>;
}

/** Opens an image service on `dataRoot` over a fresh vfs driver instance on the same directories. */
export async function openImages(
  dataRoot: string,
  extra: Partial<ImageServiceOptions> = {},
): Promise<TestDaemon> {
  const { logger, entries } = recordingLogger();
  const stateDir = join(dataRoot, 'vfs');
  const runtimeDir = join(dataRoot, 'run', 'vfs');
  await mkdir(stateDir, { recursive: true });
  await mkdir(runtimeDir, { recursive: true });
  const driver = (await vfs.create(
    { stateDir, runtimeDir, dataRoot, execRoot: join(dataRoot, 'run'), logger },
    {},
  )) as DiffGraphDriver;
  const svc = createImageService({ dataRoot, graphDriver: driver, logger, ...extra });
  await svc.open();
  return {
    svc,
    driver,
    dataRoot,
    log: entries,
    driverLayers: () => readdir(join(stateDir, 'dir')),
  };
}

export type TarEntry = Partial<Header> & { name: string; body?: string | Buffer };

/** Builds a tar in memory; entries with a body are files unless a type is given. */
export async function buildTar(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      p.entry({ mtime: new Date(1_600_000_000_000), mode: 0o644, ...header }, body ?? '', (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }
  p.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** A small rootfs: `./etc/hostname`, `./bin/sh` (a script) and an empty dir. */
export function rootfsTar(marker = 'one'): Promise<Buffer> {
  return buildTar([
    { name: './', type: 'directory', mode: 0o755 },
    { name: './etc/', type: 'directory', mode: 0o755 },
    { name: './etc/hostname', body: `${marker}\n` },
    { name: './bin/', type: 'directory', mode: 0o755 },
    { name: './bin/sh', body: '#!/bin/true\n', mode: 0o755 },
    { name: './tmp/', type: 'directory', mode: 0o1777 },
  ]);
}

export const gzip = (buf: Buffer): Buffer => gzipSync(buf);

/** A body stream that delivers `buf` in small chunks, like an HTTP upload. */
export function bodyOf(buf: Buffer, chunk = 1000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

/** Relative paths of every file and directory below `dir` (empty when it does not exist). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const relName = rel ? `${rel}/${name}` : name;
      out.push(relName);
      if ((await stat(join(d, name)).catch(() => null))?.isDirectory()) await walk(join(d, name), relName);
    }
  }
  await walk(dir, '');
  return out;
}
