import { execFileSync } from 'node:child_process';
import { chmod, lchown, link, lstat, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extractLayer, packDirectory, TsdockerError } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { collect, listTar, snapshot, useTempDirs } from './helpers.js';

const isRoot = process.getuid?.() === 0;

describe('packDirectory', () => {
  const tempDir = useTempDirs();

  async function fixture(): Promise<string> {
    const root = await tempDir();
    await mkdir(join(root, 'etc/deep'), { recursive: true });
    await writeFile(join(root, 'etc/hosts'), '127.0.0.1 localhost\n');
    await writeFile(join(root, 'etc/deep/z'), 'z');
    await writeFile(join(root, 'b'), 'b');
    await link(join(root, 'b'), join(root, 'etc/b-again'));
    await symlink('/etc/hosts', join(root, 'abs-link'));
    await symlink('../outside', join(root, 'rel-link'));
    await chmod(join(root, 'b'), 0o4711);
    if (isRoot) {
      await lchown(join(root, 'etc/hosts'), 1000, 1000);
      await lchown(join(root, 'rel-link'), 1001, 1002);
      execFileSync('mknod', [join(root, 'null'), 'c', '1', '3']);
      execFileSync('mknod', [join(root, 'fifo'), 'p']);
    }
    await utimes(join(root, 'etc/deep/z'), new Date(1_500_000_000_000), new Date(1_500_000_000_000));
    return root;
  }

  it('writes a deterministic tar: parents first, sorted names, no root entry', async () => {
    const root = await fixture();
    const tar = await collect(packDirectory(root));
    expect((await collect(packDirectory(root))).equals(tar)).toBe(true);
    const headers = await listTar(tar);
    const names = headers.map((h) => h.name);
    expect(names).toEqual([
      'abs-link',
      'b',
      'etc/',
      'etc/b-again',
      'etc/deep/',
      'etc/deep/z',
      'etc/hosts',
      ...(isRoot ? ['fifo', 'null'] : []),
      'rel-link',
    ]);
    const byName = new Map(headers.map((h) => [h.name, h]));
    expect(byName.get('etc/b-again')).toMatchObject({ type: 'link', linkname: 'b' });
    expect(byName.get('abs-link')).toMatchObject({ type: 'symlink', linkname: '/etc/hosts' });
    expect(byName.get('b')?.mode).toBe(0o4711);
    if (isRoot) {
      expect(byName.get('etc/hosts')).toMatchObject({ uid: 1000, gid: 1000, uname: '', gname: '' });
      expect(byName.get('null')).toMatchObject({ type: 'character-device', devmajor: 1, devminor: 3 });
      expect(byName.get('fifo')?.type).toBe('fifo');
    }
  });

  it('keeps ids too large for the classic header, through PAX', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'big-ids'), 'x');
    await lchown(join(root, 'big-ids'), 3_000_000, 4_000_000);
    const copy = await tempDir();
    await extractLayer(copy, packDirectory(root));
    const st = await lstat(join(copy, 'big-ids'));
    expect([st.uid, st.gid]).toEqual([3_000_000, 4_000_000]);
  });

  it('round-trips through extractLayer', async () => {
    const root = await fixture();
    const copy = await tempDir();
    await extractLayer(copy, packDirectory(root));
    expect(await snapshot(copy)).toEqual(await snapshot(root));
  });

  it('packs only the included paths, and renames one with rebaseName', async () => {
    const root = await fixture();
    const some = await listTar(
      await collect(packDirectory(root, { includePaths: ['etc/deep', 'b', 'etc/deep/z'] })),
    );
    expect(some.map((h) => h.name)).toEqual(['b', 'etc/deep/', 'etc/deep/z']);
    const file = await listTar(
      await collect(packDirectory(root, { includePaths: ['etc/hosts'], rebaseName: 'h' })),
    );
    expect(file.map((h) => h.name)).toEqual(['h']);
    const dir = await listTar(
      await collect(packDirectory(root, { includePaths: ['./etc/deep/'], rebaseName: 'x' })),
    );
    expect(dir.map((h) => h.name)).toEqual(['x/', 'x/z']);
    const whole = await listTar(await collect(packDirectory(join(root, 'etc/deep'), { rebaseName: 'deep' })));
    expect(whole.map((h) => h.name)).toEqual(['deep/', 'deep/z']);
  });

  it('stores symlinks and never follows them, not even in an included path', async () => {
    const root = await fixture();
    const headers = await listTar(await collect(packDirectory(root, { includePaths: ['abs-link'] })));
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatchObject({ name: 'abs-link', type: 'symlink' });
    await symlink('/etc', join(root, 'host-etc'));
    const err = await collect(packDirectory(root, { includePaths: ['host-etc/passwd'] })).catch(
      (e: unknown) => e,
    );
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    expect((err as Error).message).toMatch(/parent "host-etc" is a symlink/);
  });

  it('refuses include paths outside the root and a rebase without a single path', async () => {
    const root = await fixture();
    expect(() => packDirectory(root, { includePaths: ['../x'] })).toThrow(/"\.\." in path/);
    expect(() => packDirectory(root, { includePaths: ['/etc'] })).toThrow(/absolute path/);
    expect(() => packDirectory(root, { includePaths: ['a', 'b'], rebaseName: 'c' })).toThrow(/exactly one/);
    const err = await collect(packDirectory(root, { includePaths: ['nope'] })).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'not-found')).toBe(true);
  });

  it('can be destroyed before it is read to the end', async () => {
    const root = await fixture();
    await writeFile(join(root, 'big'), Buffer.alloc(4 * 1024 * 1024, 7));
    const stream = packDirectory(root);
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    expect(stream.destroyed).toBe(true);
  });

  it('streams into extractLayer without buffering it whole', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'big'), Buffer.alloc(8 * 1024 * 1024, 1));
    const copy = await tempDir();
    const { bytes } = await extractLayer(copy, Readable.from(packDirectory(root)));
    expect(bytes).toBe(8 * 1024 * 1024);
  });
});
