import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileTooLargeError,
  generateId,
  IdIndex,
  KeyedMutex,
  LockedMap,
  Mutex,
  readFileCapped,
  readJsonFile,
  removeStaleTempFiles,
  shortId,
  TEMP_PREFIX,
  TsdockerError,
  writeFileAtomic,
  writeJsonAtomic,
} from '@tsdocker/core';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsdocker-store-'));
  roots.push(dir);
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('atomic files', () => {
  it('writes the content with exactly the requested mode and leaves no temp file', async () => {
    const dir = await tempRoot();
    const path = join(dir, 'state.json');
    await writeFileAtomic(path, 'one', 0o600);
    await writeFileAtomic(path, 'two', 0o600);
    expect(await readFile(path, 'utf8')).toBe('two');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('keeps the old content when the write fails', async () => {
    const dir = await tempRoot();
    const path = join(dir, 'state.json');
    await writeJsonAtomic(path, { a: 1 });
    // A directory where the temp file's rename target is cannot be replaced by a file.
    await expect(writeFileAtomic(join(dir, 'missing', 'x.json'), 'x')).rejects.toThrow();
    expect(await readJsonFile(path)).toEqual({ a: 1 });
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('validates with a schema and names the file in errors', async () => {
    const dir = await tempRoot();
    const path = join(dir, 'c.json');
    await writeFile(path, '{"n": "x"}');
    await expect(readJsonFile(path, z.object({ n: z.number() }))).rejects.toThrow(
      /c\.json: unexpected content/,
    );
    await writeFile(path, '{not json');
    await expect(readJsonFile(path)).rejects.toThrow(/c\.json: invalid JSON/);
    await writeFile(path, '{"n": 3}');
    expect(await readJsonFile(path, z.object({ n: z.number() }))).toEqual({ n: 3 });
  });

  it('refuses files over the cap without parsing them', async () => {
    const dir = await tempRoot();
    const path = join(dir, 'big');
    await writeFile(path, Buffer.alloc(2048, 'a'));
    await expect(readFileCapped(path, 1024)).rejects.toBeInstanceOf(FileTooLargeError);
    expect((await readFileCapped(path, 2048)).length).toBe(2048);
  });

  it('sweeps only temp files left by an interrupted write', async () => {
    const dir = await tempRoot();
    await writeFile(join(dir, `${TEMP_PREFIX}state.json-1234`), 'torn');
    await mkdir(join(dir, `${TEMP_PREFIX}dir-1`));
    await writeFile(join(dir, 'state.json'), 'ok');
    expect((await removeStaleTempFiles(dir)).sort()).toEqual([
      `${TEMP_PREFIX}dir-1`,
      `${TEMP_PREFIX}state.json-1234`,
    ]);
    expect(await readdir(dir)).toEqual(['state.json']);
    expect(await removeStaleTempFiles(join(dir, 'nope'))).toEqual([]);
  });
});

describe('Mutex / KeyedMutex / LockedMap', () => {
  it('runs critical sections one at a time in arrival order, also after a failure', async () => {
    const mutex = new Mutex();
    const log: string[] = [];
    const section = (name: string, ms: number, fail = false) =>
      mutex.run(async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([section('a', 20), section('b', 1, true), section('c', 1)]);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(mutex.locked).toBe(false);
  });

  it('locks per key and forgets idle keys', async () => {
    const locks = new KeyedMutex<string>();
    const log: string[] = [];
    const run = (key: string, name: string, ms: number) =>
      locks.run(key, async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
      });
    await Promise.all([run('x', 'x1', 20), run('y', 'y1', 1), run('x', 'x2', 1)]);
    expect(log.indexOf('y1-')).toBeLessThan(log.indexOf('x1-'));
    expect(log.indexOf('x1-')).toBeLessThan(log.indexOf('x2+'));
    expect(locks.isLocked('x')).toBe(false);
  });

  it('LockedMap: compound updates do not interleave; snapshots are stable', async () => {
    const map = new LockedMap<string, number>();
    const bump = () =>
      map.run(async (m) => {
        const v = m.get('n') ?? 0;
        await sleep(1);
        m.set('n', v + 1);
      });
    await Promise.all(Array.from({ length: 10 }, bump));
    expect(map.get('n')).toBe(10);
    const snap = map.values();
    await map.run((m) => m.set('other', 1));
    expect(snap).toEqual([10]);
    expect(map.find((v) => v === 1)).toBe(1);
  });
});

describe('IdIndex', () => {
  const a = 'abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
  const b = 'abcdff0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
  const c = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

  it('finds unique prefixes and refuses ambiguous ones with Docker’s message', () => {
    const index = new IdIndex([a, b, c]);
    expect(index.get('0')).toBe(c);
    expect(index.get('abcde')).toBe(a);
    expect(index.get(a)).toBe(a);
    expect(index.get('f')).toBeUndefined();
    expect(() => index.get('abcd')).toThrow('multiple IDs found with provided prefix: abcd');
    expect(index.lookup('abcd')).toEqual({ status: 'ambiguous' });
    try {
      index.get('abc');
    } catch (err) {
      expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    }
    expect(() => index.get('')).toThrow("prefix can't be empty");
  });

  it('adds and deletes; rejects duplicates and bad ids', () => {
    const index = new IdIndex();
    index.add(a);
    expect(() => index.add(a)).toThrow('id already exists');
    expect(() => index.add('a b')).toThrow(/illegal character/);
    expect(index.delete(a)).toBe(true);
    expect(index.delete(a)).toBe(false);
    expect(index.size).toBe(0);
  });

  it('generates 64-hex ids whose short form is never all digits', () => {
    for (let i = 0; i < 200; i++) {
      const id = generateId();
      expect(id).toMatch(/^[a-f0-9]{64}$/);
      expect(shortId(id)).not.toMatch(/^[0-9]+$/);
    }
    expect(shortId(`sha256:${a}`)).toBe('abcdef012345');
    expect(shortId('abc')).toBe('abc');
  });
});
