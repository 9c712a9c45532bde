import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import {
  type ExtractedEntry,
  extractLayer,
  IDLE_WORKER_MS,
  stopIdleExtractionWorkers,
  TsdockerError,
} from '@tsdocker/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildTar, extractions, tarStreamOf, useTempDirs } from './helpers.js';

const T = new Date(1_600_000_000_000);

describe.each(extractions)('extractLayer ($name)', ({ extract }) => {
  const tempDir = useTempDirs();

  it('writes files, directories, symlinks and hardlinks with their content', async () => {
    const root = await tempDir();
    const { bytes } = await extract(
      root,
      await tarStreamOf([
        { name: 'etc/', type: 'directory', mode: 0o755 },
        { name: 'etc/hostname', body: 'box\n', mode: 0o644 },
        { name: 'etc/alias', type: 'symlink', linkname: 'hostname' },
        { name: 'etc/hardlink', type: 'link', linkname: 'etc/hostname' },
        { name: 'empty', body: '' },
      ]),
    );
    expect(bytes).toBe(4);
    expect(await readFile(join(root, 'etc/hostname'), 'utf8')).toBe('box\n');
    expect(await readlink(join(root, 'etc/alias'))).toBe('hostname');
    const [a, b] = await Promise.all([stat(join(root, 'etc/hostname')), stat(join(root, 'etc/hardlink'))]);
    expect(b.ino).toBe(a.ino);
    expect((await stat(join(root, 'empty'))).size).toBe(0);
  });

  it('accepts names with and without a ./ prefix, and PAX long names', async () => {
    const root = await tempDir();
    const longName = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
    await extract(
      root,
      await tarStreamOf([
        { name: './a/', type: 'directory' },
        { name: './a/x', body: 'x' },
        { name: 'b/y', body: 'y' },
        { name: longName, body: 'long' },
      ]),
    );
    expect(await readFile(join(root, 'a/x'), 'utf8')).toBe('x');
    expect(await readFile(join(root, 'b/y'), 'utf8')).toBe('y');
    expect(await readFile(join(root, longName), 'utf8')).toBe('long');
    // A parent missing from the archive is made as a 0755 directory, as Docker does.
    expect((await stat(join(root, 'b'))).mode & 0o7777).toBe(0o755);
  });

  it('applies numeric owners, special mode bits and times', async () => {
    const root = await tempDir();
    await extract(
      root,
      await tarStreamOf([
        { name: 'bin/', type: 'directory', mode: 0o2775, uid: 1000, gid: 1000, mtime: T },
        {
          name: 'bin/su',
          body: '#!',
          mode: 0o4755,
          uid: 0,
          gid: 0,
          uname: 'nobody',
          gname: 'nogroup',
          mtime: T,
        },
        { name: 'bin/own', body: 'o', mode: 0o6750, uid: 1234, gid: 5678, uname: 'root', gname: 'root' },
        { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: T },
        { name: 'bin/link', type: 'symlink', linkname: 'su', uid: 1000, gid: 1001, mtime: T },
      ]),
    );
    const su = await lstat(join(root, 'bin/su'));
    expect(su.mode & 0o7777).toBe(0o4755);
    expect(su.mtimeMs).toBe(T.getTime());
    const own = await lstat(join(root, 'bin/own'));
    // Ids come from the numeric fields; user and group names are never looked up.
    expect([own.uid, own.gid, own.mode & 0o7777]).toEqual([1234, 5678, 0o6750]);
    const bin = await lstat(join(root, 'bin'));
    expect([bin.uid, bin.gid, bin.mode & 0o7777]).toEqual([1000, 1000, 0o2775]);
    // Directory times are set after their children were written.
    expect(bin.mtimeMs).toBe(T.getTime());
    expect((await lstat(join(root, 'tmp'))).mode & 0o7777).toBe(0o1777);
    const link = await lstat(join(root, 'bin/link'));
    expect([link.uid, link.gid, link.mtimeMs]).toEqual([1000, 1001, T.getTime()]);
  });

  it('makes FIFOs and device nodes', async () => {
    const root = await tempDir();
    await extract(
      root,
      await tarStreamOf([
        { name: 'dev/', type: 'directory' },
        { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
        { name: 'dev/pipe', type: 'fifo', mode: 0o620 },
      ]),
    );
    const dnull = await lstat(join(root, 'dev/null'));
    expect(dnull.isCharacterDevice()).toBe(true);
    expect(dnull.rdev).toBe(0x103);
    expect(dnull.mode & 0o7777).toBe(0o666);
    const loop = await lstat(join(root, 'dev/loop9'));
    expect([loop.isBlockDevice(), loop.rdev, loop.gid, loop.mode & 0o7777]).toEqual([true, 0x709, 6, 0o660]);
    const pipe = await lstat(join(root, 'dev/pipe'));
    expect([pipe.isFIFO(), pipe.mode & 0o7777]).toEqual([true, 0o620]);
  });

  it('replaces what is at a path by the entry, merging only directory into directory', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    await writeFile(join(outside, 'target'), 'outside');
    await mkdir(join(root, 'was-dir/sub'), { recursive: true });
    await writeFile(join(root, 'was-dir/sub/f'), 'f');
    await writeFile(join(root, 'was-file'), 'f');
    await mkdir(join(root, 'merged'));
    await writeFile(join(root, 'merged/lower'), 'lower');
    await symlink(join(outside, 'target'), join(root, 'was-link'));
    await extract(
      root,
      await tarStreamOf([
        { name: 'was-dir', body: 'now a file' },
        { name: 'was-file/', type: 'directory' },
        { name: 'merged/', type: 'directory' },
        { name: 'merged/upper', body: 'upper' },
        { name: 'was-link', body: 'replaced' },
      ]),
    );
    expect(await readFile(join(root, 'was-dir'), 'utf8')).toBe('now a file');
    expect((await lstat(join(root, 'was-file'))).isDirectory()).toBe(true);
    expect((await readdir(join(root, 'merged'))).sort()).toEqual(['lower', 'upper']);
    // The existing symlink was replaced, never written through.
    expect((await lstat(join(root, 'was-link'))).isFile()).toBe(true);
    expect(await readFile(join(outside, 'target'), 'utf8')).toBe('outside');
  });

  it('into an empty root, keeps archive order while small files are written in the background', async () => {
    const root = await tempDir();
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `many/f-${i}`, body: `${i}`, mode: 0o640 }));
    const { bytes } = await extract(
      root,
      await tarStreamOf([
        ...many,
        { name: 'twice', body: 'first' },
        { name: 'twice', body: 'second', mode: 0o600 },
        { name: 'linked', body: 'shared' },
        { name: 'link', type: 'link', linkname: 'linked' },
        { name: 'becomes-dir', body: 'file' },
        { name: 'becomes-dir/', type: 'directory', mode: 0o750 },
        { name: 'becomes-dir/inner', body: 'in' },
        { name: 'gone', body: 'gone' },
        { name: '.wh.gone', body: '' },
        { name: 'readonly', body: 'ro', mode: 0o444, mtime: T },
        { name: 'all-write', body: 'rw', mode: 0o666 },
        { name: 'setuid', body: 'su', mode: 0o4755, uid: 1000, gid: 1000 },
      ]),
    );
    expect(bytes).toBe(many.reduce((n, e) => n + e.body.length, 0) + 5 + 6 + 6 + 4 + 2 + 4 + 2 + 2 + 2);
    for (const e of many) expect(await readFile(join(root, e.name), 'utf8')).toBe(e.body);
    expect((await stat(join(root, 'many/f-0'))).mode & 0o7777).toBe(0o640);
    expect(await readFile(join(root, 'twice'), 'utf8')).toBe('second');
    expect((await stat(join(root, 'twice'))).mode & 0o7777).toBe(0o600);
    expect((await stat(join(root, 'link'))).ino).toBe((await stat(join(root, 'linked'))).ino);
    expect((await stat(join(root, 'becomes-dir'))).mode & 0o7777).toBe(0o750);
    expect(await readFile(join(root, 'becomes-dir/inner'), 'utf8')).toBe('in');
    expect((await readdir(root)).includes('gone')).toBe(false);
    const ro = await stat(join(root, 'readonly'));
    expect([ro.mode & 0o7777, ro.mtimeMs]).toEqual([0o444, T.getTime()]);
    expect((await stat(join(root, 'all-write'))).mode & 0o7777).toBe(0o666);
    if (process.getuid?.() === 0) {
      const su = await stat(join(root, 'setuid'));
      expect([su.mode & 0o7777, su.uid, su.gid]).toEqual([0o4755, 1000, 1000]);
    }
  });

  it('tells the tree size of a fresh extraction, as a walk of the directory measures it', async () => {
    const root = await tempDir();
    const { treeSize } = await extract(
      root,
      await tarStreamOf([
        { name: 'd/', type: 'directory' },
        { name: 'd/file', body: 'hello' },
        { name: 'd/hard', type: 'link', linkname: 'd/file' },
        { name: 'd/sym', type: 'symlink', linkname: 'file' },
        { name: 'd/sym-hard', type: 'link', linkname: 'd/sym' },
        { name: 'fifo', type: 'fifo' },
        { name: 'big', body: Buffer.alloc(3000, 1) },
      ]),
    );
    // moby's directory.Size: non-directories by lstat size, each multiply-linked inode once.
    const seen = new Set<number>();
    let walked = 0;
    for (const name of ['d/file', 'd/hard', 'd/sym', 'd/sym-hard', 'fifo', 'big']) {
      const st = await lstat(join(root, name));
      if (st.nlink > 1 && seen.has(st.ino)) continue;
      seen.add(st.ino);
      walked += st.size;
    }
    expect(treeSize).toBe(walked);
    expect(treeSize).toBe(5 + 4 + 3000);
  });

  it('does not guess the tree size once something was removed or the root was not empty', async () => {
    const fresh = await tempDir();
    const replaced = await extract(
      fresh,
      await tarStreamOf([
        { name: 'f', body: 'one' },
        { name: 'f', body: 'three' },
      ]),
    );
    expect(replaced.treeSize).toBeNull();
    const used = await tempDir();
    await writeFile(join(used, 'lower'), 'x');
    expect((await extract(used, await tarStreamOf([{ name: 'g', body: 'g' }]))).treeSize).toBeNull();
  });

  it('into an empty root, refuses an entry below a file still being written, and stops writing', async () => {
    const root = await tempDir();
    const err = await extract(
      root,
      await tarStreamOf([
        ...Array.from({ length: 20 }, (_, i) => ({ name: `f-${i}`, body: 'x'.repeat(1000) })),
        { name: 'f-3/below', body: 'no' },
        { name: 'after', body: 'never' },
      ]),
    ).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    expect(String((err as Error).message)).toMatch(/f-3/);
    // Everything queued was finished (or failed) before extractLayer returned.
    const names = await readdir(root);
    expect(names).not.toContain('after');
    for (const name of names) expect((await stat(join(root, name))).size).toBe(1000);
  });

  it('applies whiteouts: .wh.<name> removes it, an opaque dir hides only lower content', async () => {
    const root = await tempDir();
    for (const dir of ['gone-dir/sub', 'keep', 'opaque/lower-dir'])
      await mkdir(join(root, dir), { recursive: true });
    for (const file of ['gone', 'keep/a', 'keep/b', 'opaque/lower', 'opaque/lower-dir/x']) {
      await writeFile(join(root, file), file);
    }
    await extract(
      root,
      await tarStreamOf([
        { name: '.wh.gone' },
        { name: '.wh.gone-dir' },
        { name: 'keep/.wh.a' },
        { name: 'keep/.wh.never-existed' },
        { name: 'missing-dir/.wh.x' },
        { name: 'opaque/', type: 'directory' },
        { name: 'opaque/before', body: 'same layer, before the marker' },
        { name: 'opaque/.wh..wh..opq' },
        { name: 'opaque/after', body: 'same layer, after the marker' },
      ]),
    );
    expect((await readdir(root)).sort()).toEqual(['keep', 'opaque']);
    expect(await readdir(join(root, 'keep'))).toEqual(['b']);
    expect((await readdir(join(root, 'opaque'))).sort()).toEqual(['after', 'before']);
  });

  it('writes whiteouts as plain files with whiteouts: keep', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'gone'), 'still here');
    await extract(root, await tarStreamOf([{ name: '.wh.gone' }, { name: 'd/.wh..wh..opq' }]), {
      whiteouts: 'keep',
    });
    expect((await readdir(root)).sort()).toEqual(['.wh.gone', 'd', 'gone']);
    expect(await readdir(join(root, 'd'))).toEqual(['.wh..wh..opq']);
  });

  it('skips AUFS bookkeeping at the root', async () => {
    const root = await tempDir();
    await extract(
      root,
      await tarStreamOf([
        { name: '.wh..wh.plnk/', type: 'directory' },
        { name: '.wh..wh.plnk/123.456', body: 'x' },
        { name: 'real', body: 'y' },
      ]),
    );
    expect(await readdir(root)).toEqual(['real']);
  });

  it('reads gzip-compressed input', async () => {
    const root = await tempDir();
    const tar = await buildTar([
      { name: 'a/', type: 'directory' },
      { name: 'a/b', body: 'hello' },
    ]);
    const { bytes } = await extract(root, Readable.from([gzipSync(tar)]));
    expect(bytes).toBe(5);
    expect(await readFile(join(root, 'a/b'), 'utf8')).toBe('hello');
  });

  it('takes an empty stream as an empty layer', async () => {
    const root = await tempDir();
    expect(await extract(root, Readable.from([])).then((r) => r.bytes)).toBe(0);
  });

  it('refuses a corrupt archive with invalid-argument', async () => {
    const root = await tempDir();
    const garbage = Buffer.alloc(1024, 'x');
    const err = await extract(root, Readable.from([garbage])).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    expect((err as Error).message).toMatch(/invalid layer archive/);
  });

  it('fails when its input fails midway, and writes nothing afterwards', async () => {
    const root = await tempDir();
    const tar = await buildTar(
      Array.from({ length: 300 }, (_, i) => ({ name: `f-${i}`, body: 'x'.repeat(5000) })),
    );
    const input = new PassThrough();
    input.write(tar.subarray(0, 1_500_000)); // more than a batch for the worker
    setTimeout(() => input.destroy(new Error('the client went away')), 50);
    const err = await extract(root, input).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'invalid-argument'), String(err)).toBe(true);
    expect(input.destroyed).toBe(true);
    const names = (await readdir(root)).sort();
    expect(names.length).toBeLessThan(300);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await readdir(root)).sort()).toEqual(names);
  });

  it('refuses a truncated archive', async () => {
    const root = await tempDir();
    const tar = await buildTar([{ name: 'big', body: Buffer.alloc(4096, 1) }]);
    const err = await extract(root, Readable.from([tar.subarray(0, 1536)])).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
  });

  it('says bzip2 and xz are not supported', async () => {
    const root = await tempDir();
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0, 0, 0, 0, 0]);
    const err = await extract(root, Readable.from([xz])).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'not-supported')).toBe(true);
    expect((err as Error).message).toMatch(/xz-compressed layers are not supported/);
  });

  it('says extended attributes need the attr package when setfattr is missing', async () => {
    const root = await tempDir();
    const tar = await tarStreamOf([{ name: 'f', body: 'x', pax: { 'SCHILY.xattr.user.note': 'hello' } }]);
    // A PATH without the attr tools stands for a machine that lacks the package.
    const path = process.env.PATH;
    process.env.PATH = root;
    const err = await extract(root, tar)
      .catch((e: unknown) => e)
      .finally(() => {
        process.env.PATH = path;
      });
    expect(TsdockerError.is(err, 'not-supported')).toBe(true);
    expect((err as Error).message).toMatch(/layer entry "f".*setfattr.*"attr" package/);
  });

  it('sets extended attributes from PAX records', async () => {
    const root = await tempDir();
    await extract(
      root,
      await tarStreamOf([{ name: 'f', body: 'x', pax: { 'SCHILY.xattr.user.note': 'hi' } }]),
    );
    const out = execFileSync('getfattr', ['-h', '-n', 'user.note', '--only-values', join(root, 'f')], {
      encoding: 'utf8',
    });
    expect(out).toBe('hi');
  });
});

describe('extractLayer, in the calling thread', () => {
  const tempDir = useTempDirs();

  it('reports each entry', async () => {
    const root = await tempDir();
    const seen: ExtractedEntry[] = [];
    await extractLayer(
      root,
      await tarStreamOf([
        { name: 'a/', type: 'directory' },
        { name: 'a/b', body: 'hello' },
        { name: '.wh..wh.plnk/x', body: 'skipped' },
      ]),
      { onEntry: (e) => seen.push(e) },
    );
    expect(seen.map((e) => [e.name, e.type, e.size])).toEqual([
      ['a/', 'directory', 0],
      ['a/b', 'file', 5],
    ]);
  });
});

describe('extractLayer with worker: true', () => {
  const tempDir = useTempDirs();
  // Workers other tests left waiting would be reused, and counted as not started here.
  beforeEach(() => stopIdleExtractionWorkers());

  /** Runs `work`, returning the worker threads started meanwhile. */
  async function workersStartedBy(work: () => Promise<unknown>): Promise<Worker[]> {
    const started: Worker[] = [];
    const onWorker = (worker: Worker) => started.push(worker);
    process.on('worker', onWorker);
    try {
      await work();
    } finally {
      process.off('worker', onWorker);
    }
    return started;
  }

  it('extracts in a worker thread, which waits a moment for the next extraction and then stops', async () => {
    const root = await tempDir();
    // Files larger than a batch, and chunks that straddle batches.
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 7);
    const tar = await buildTar([
      { name: 'big', body: big, mode: 0o640 },
      { name: 'small', body: 's' },
    ]);
    const chunks = Array.from({ length: Math.ceil(tar.length / 65_521) }, (_, i) =>
      tar.subarray(i * 65_521, (i + 1) * 65_521),
    );
    let result: Awaited<ReturnType<typeof extractLayer>> | undefined;
    const started = await workersStartedBy(async () => {
      result = await extractLayer(root, Readable.from(chunks), { worker: true });
    });
    expect(started).toHaveLength(1);
    expect(result).toEqual({ bytes: big.length + 1, treeSize: big.length + 1 });
    expect((await readFile(join(root, 'big'))).equals(big)).toBe(true);
    expect((await stat(join(root, 'big'))).mode & 0o7777).toBe(0o640);
    // The next extraction reuses it (no new thread), and gets only its own result.
    const again = await tempDir();
    const reused = await workersStartedBy(async () => {
      expect(
        await extractLayer(again, await tarStreamOf([{ name: 'x', body: 'xy' }]), { worker: true }),
      ).toEqual({
        bytes: 2,
        treeSize: 2,
      });
    });
    expect(reused).toEqual([]);
    expect(await readdir(again)).toEqual(['x']);
    expect(started[0]?.threadId).not.toBe(-1); // still waiting
    // Idle for IDLE_WORKER_MS, it stops: an idle daemon keeps no extraction thread. (Polled: a
    // busy machine may take a while to end the thread.)
    await new Promise((resolve) => setTimeout(resolve, IDLE_WORKER_MS));
    for (let waited = 0; started[0]?.threadId !== -1 && waited < 10_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started[0]?.threadId).toBe(-1);
  });

  it('stops its worker at once when the extraction fails', async () => {
    const root = await tempDir();
    let err: unknown;
    const started = await workersStartedBy(async () => {
      err = await extractLayer(root, await tarStreamOf([{ name: '../evil', body: 'x' }]), {
        worker: true,
      }).catch((e: unknown) => e);
    });
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    expect((err as Error).message).toMatch(/layer entry "\.\.\/evil"/);
    expect(started.map((w) => w.threadId)).toEqual([-1]);
  });

  it('takes an input that has ended already as an empty layer', async () => {
    const root = await tempDir();
    const input = Readable.from([]);
    for await (const _ of input); // read to its end
    expect(await extractLayer(root, input, { worker: true })).toEqual({ bytes: 0, treeSize: 0 });
  });

  it('refuses a missing root as the in-thread extraction does', async () => {
    const root = join(await tempDir(), 'missing');
    const err = await extractLayer(root, Readable.from([]), { worker: true }).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    expect((err as Error).message).toMatch(/extraction root .* does not exist/);
  });
});
