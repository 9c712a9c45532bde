import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { extractLayer, followedFile, GrowingFile } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { buildTar, collect, useTempDirs } from './helpers.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Appends `chunk` to the file and tells the followers. */
async function append(file: GrowingFile, chunk: Buffer): Promise<void> {
  await appendFile(file.path, chunk);
  file.grew(chunk.length);
}

describe('GrowingFile', () => {
  const tempDir = useTempDirs();

  it('a follower reads what is written as it is written, and ends once the file is complete', async () => {
    const path = join(await tempDir(), 'f');
    await writeFile(path, '');
    const file = new GrowingFile(path);
    const stream = file.follow();
    expect(followedFile(stream)).toBe(file);
    const read = collect(stream);
    for (const part of ['one ', 'two ', 'three']) {
      await tick();
      await append(file, Buffer.from(part));
    }
    file.complete(null);
    expect((await read).toString()).toBe('one two three');
    await expect(file.whole()).resolves.toEqual({ written: 13, digest: null });
  });

  it('a follower fails with the writer’s error; whole() rejects', async () => {
    const path = join(await tempDir(), 'f');
    await writeFile(path, '');
    const file = new GrowingFile(path);
    const read = collect(file.follow());
    await append(file, Buffer.from('partial'));
    file.fail(new Error('client went away'));
    await expect(read).rejects.toThrow('client went away');
    await expect(file.whole()).rejects.toThrow('client went away');
  });

  it('destroying one follower while it waits lets it go and does not end the others', async () => {
    const path = join(await tempDir(), 'f');
    await writeFile(path, '');
    const file = new GrowingFile(path);
    const stopped = file.follow();
    stopped.on('error', () => {});
    const kept = collect(file.follow());
    stopped.resume();
    await append(file, Buffer.from('a'));
    await tick();
    stopped.destroy();
    await tick();
    await append(file, Buffer.from('b'));
    file.complete(null);
    expect((await kept).toString()).toBe('ab');
    expect(stopped.destroyed).toBe(true);
  });

  it('streams not made by follow() have no file', () => {
    expect(followedFile(new PassThrough())).toBeNull();
  });
});

describe('extractLayer (worker) of a followed file', () => {
  const tempDir = useTempDirs();

  async function layerInPieces(): Promise<Buffer> {
    return buildTar([
      { name: 'd/', type: 'directory', mode: 0o755 },
      { name: 'd/a', body: 'a'.repeat(300_000) },
      { name: 'd/b', body: 'b' },
    ]);
  }

  /** An empty growing file, and a worker extraction into a fresh root following it. */
  async function extractionFollowing() {
    const dir = await tempDir();
    const path = join(dir, 'layer.tar');
    await writeFile(path, '');
    const root = join(dir, 'root');
    await mkdir(root);
    const file = new GrowingFile(path);
    const extracting = extractLayer(root, file.follow(), { worker: true });
    return { root, file, extracting, tar: await layerInPieces() };
  }

  it('the worker reads the file itself as it grows, and extracts the whole layer', async () => {
    const { root, file, extracting, tar } = await extractionFollowing();
    for (let at = 0; at < tar.length; at += 65_536) {
      await tick();
      await append(file, tar.subarray(at, at + 65_536));
    }
    file.complete(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    const result = await extracting;
    expect(result.bytes).toBe(300_001);
    expect((await readFile(join(root, 'd/a'), 'utf8')).length).toBe(300_000);
    expect(await readdir(join(root, 'd'))).toEqual(['a', 'b']);
  });

  it('a writer that fails half-way fails the extraction', async () => {
    const { file, extracting, tar } = await extractionFollowing();
    await append(file, tar.subarray(0, 100_000));
    file.fail(new Error('the client hung up'));
    // As with a piped input that fails: the entry being written is reported truncated.
    await expect(extracting).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(extracting).rejects.toThrow('layer entry "d/a": the archive is truncated');
  });
});
