/**
 * The native diff against core's naive one: the same changes, the same tar whiteouts, the same
 * result when applied; and overlay whiteouts on disk after applyDiff.
 */
import { chmod, lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { computeChanges, exportChanges, withNaiveDiff } from '@tsdocker/core';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { OverlayDriver } from '../src/index.js';
import { readXattr } from '../src/opaque-dirs.js';
import { mounted, readTar, treeSnapshot, useTempRoots } from './helpers.js';

/** core's naive diff of `id` against `parent`, computed on the two mounted trees. */
async function naiveDiff(d: OverlayDriver, id: string, parent: string) {
  return mounted(d, id, (root) =>
    mounted(d, parent, async (parentRoot) => {
      const changes = await computeChanges(root, parentRoot);
      return { changes, entries: await readTar(exportChanges(root, changes)) };
    }),
  );
}

async function baseLayer(d: OverlayDriver): Promise<void> {
  await d.create('base', null);
  await mounted(d, 'base', async (dir) => {
    for (const sub of ['etc/conf.d', 'var/cache/sub', 'keep', 'dir2file', 'usr/bin'])
      await mkdir(join(dir, sub), { recursive: true });
    for (const f of ['etc/hostname', 'etc/conf.d/a', 'etc/conf.d/b', 'var/cache/x', 'var/cache/sub/y'])
      await writeFile(join(dir, f), f);
    for (const f of ['keep/k1', 'keep/k2', 'dir2file/z', 'file2dir', 'doomed', 'usr/bin/tool'])
      await writeFile(join(dir, f), f);
  });
}

/** Deletions and edits only: no directory is deleted and made again. */
async function plainChanges(dir: string): Promise<void> {
  await writeFile(join(dir, 'etc/hostname'), 'changed');
  await rm(join(dir, 'etc/conf.d/a'));
  await chmod(join(dir, 'etc/conf.d/b'), 0o600);
  await rm(join(dir, 'var/cache'), { recursive: true });
  await rm(join(dir, 'doomed'));
  await rm(join(dir, 'usr/bin/tool'));
  await mkdir(join(dir, 'opt/app'), { recursive: true });
  await writeFile(join(dir, 'opt/app/run'), '#!/bin/sh\n');
}

/** Replacements: a directory made again (opaque in overlay), a file for a directory and back. */
async function replacingChanges(dir: string): Promise<void> {
  await rm(join(dir, 'keep'), { recursive: true });
  await mkdir(join(dir, 'keep'));
  await writeFile(join(dir, 'keep/new'), 'new');
  await rm(join(dir, 'dir2file'), { recursive: true });
  await writeFile(join(dir, 'dir2file'), 'now a file');
  await rm(join(dir, 'file2dir'));
  await mkdir(join(dir, 'file2dir'));
  await writeFile(join(dir, 'file2dir/n'), 'n');
}

const whiteoutsOf = (entries: Awaited<ReturnType<typeof readTar>>) =>
  entries
    .filter((e) => /(^|\/)\.wh\./.test(e.header.name))
    .map(({ header: h }) => ({
      name: h.name,
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      size: h.size,
      mtime: h.mtime,
    }));

describe('overlay2 native diff', () => {
  const { openDriver } = useTempRoots();

  it('writes the same tar whiteouts as the naive diff for the same change', async () => {
    const d = await openDriver();
    await baseLayer(d);
    await d.createReadWrite('ctr', 'base');
    await mounted(d, 'ctr', plainChanges);
    const native = await readTar(await d.diff('ctr', 'base'));
    const naive = await naiveDiff(d, 'ctr', 'base');
    expect(whiteoutsOf(native)).toEqual(whiteoutsOf(naive.entries));
    expect(whiteoutsOf(native).map((w) => w.name)).toEqual([
      '.wh.doomed',
      'etc/conf.d/.wh.a',
      'usr/bin/.wh.tool',
      'var/.wh.cache',
    ]);
    // Everything else: the same entries too (the upper holds exactly the copied-up directories).
    const names = (entries: typeof native) => entries.map((e) => e.header.name).sort();
    expect(names(native)).toEqual(names(naive.entries));
  });

  it('lists exactly the changes the naive diff lists, in the same order', async () => {
    const d = await openDriver();
    await baseLayer(d);
    await d.createReadWrite('ctr', 'base');
    await mounted(d, 'ctr', async (dir) => {
      await plainChanges(dir);
      await replacingChanges(dir);
    });
    const native = await d.changes('ctr', 'base');
    expect(native).toEqual((await naiveDiff(d, 'ctr', 'base')).changes);
    expect(native.map((c) => `${'CAD'[c.kind]} ${c.path}`)).toContain('D /keep/k1');
    // A base layer: everything is added.
    expect(await d.changes('base', null)).toEqual(
      await mounted(d, 'base', (root) => computeChanges(root, null)),
    );
  });

  it('marks a directory made again as opaque, and the diff applies to the same tree', async () => {
    const d = await openDriver();
    await baseLayer(d);
    await d.createReadWrite('ctr', 'base');
    await mounted(d, 'ctr', async (dir) => {
      await plainChanges(dir);
      await replacingChanges(dir);
    });
    const entries = await readTar(await d.diff('ctr', 'base'));
    const names = entries.map((e) => e.header.name);
    expect(names).toContain('keep/.wh..wh..opq');
    expect(names.indexOf('keep/.wh..wh..opq')).toBe(names.indexOf('keep/') + 1);

    // Applied natively (overlay whiteouts in the new layer's diff dir) and through the naive
    // driver (plain deletes in a merged tree): both give the container's tree.
    await d.create('native-replay', 'base');
    await d.applyDiff('native-replay', 'base', await d.diff('ctr', 'base'));
    const naiveDriver = withNaiveDiff(mountOnly(d));
    await d.create('naive-replay', 'base');
    await naiveDriver.applyDiff('naive-replay', 'base', await d.diff('ctr', 'base'));
    const expected = await mounted(d, 'ctr', treeSnapshot);
    expect(await mounted(d, 'native-replay', treeSnapshot)).toEqual(expected);
    expect(await mounted(d, 'naive-replay', treeSnapshot)).toEqual(expected);

    // On disk: 0:0 character devices and the opaque xattr, as the kernel itself writes them.
    const diff = d.diffDir('native-replay');
    for (const gone of ['doomed', 'etc/conf.d/a', 'var/cache']) {
      const st = await lstat(join(diff, gone));
      expect([st.isCharacterDevice(), st.rdev]).toEqual([true, 0]);
    }
    expect(await readXattr(join(diff, 'keep'), 'trusted.overlay.opaque')).toBe('y');
    expect(await readXattr(join(diff, 'etc'), 'trusted.overlay.opaque')).toBeNull();
  });

  it('applies tar whiteouts as overlay ones, and drops overlay xattrs a tar carries', async () => {
    const d = await openDriver();
    await baseLayer(d);
    await d.create('upper', 'base');
    const tar = tarOf([
      { name: '.wh.doomed' },
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/.wh..wh..opq' },
      { name: 'etc/only', body: 'only' },
      { name: '.wh.keep' },
      { name: 'keep/', type: 'directory', mode: 0o755 },
      { name: 'keep/fresh', body: 'fresh' },
      {
        name: 'usr/',
        type: 'directory',
        mode: 0o755,
        pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.user.note': 'kept' },
      },
    ]);
    expect(await d.applyDiff('upper', 'base', tar)).toBe('only'.length + 'fresh'.length);
    const diff = d.diffDir('upper');
    expect(await readXattr(join(diff, 'etc'), 'trusted.overlay.opaque')).toBe('y');
    // A directory where a whiteout was hides the lower one too.
    expect(await readXattr(join(diff, 'keep'), 'trusted.overlay.opaque')).toBe('y');
    expect(await readXattr(join(diff, 'usr'), 'trusted.overlay.redirect')).toBeNull();
    expect(await readXattr(join(diff, 'usr'), 'user.note')).toBe('kept');
    await mounted(d, 'upper', async (dir) => {
      const tree = await treeSnapshot(dir);
      expect(Object.keys(tree).filter((p) => /^\/(etc|keep|doomed)/.test(p))).toEqual([
        '/etc',
        '/etc/only',
        '/keep',
        '/keep/fresh',
      ]);
      expect(Object.keys(tree)).toContain('/usr/bin/tool');
    });
  });

  it('falls back to the naive diff against a layer that is not the direct parent', async () => {
    const d = await openDriver();
    await baseLayer(d);
    await d.create('mid', 'base');
    await mounted(d, 'mid', (dir) => writeFile(join(dir, 'mid-file'), 'mid'));
    await d.createReadWrite('top', 'mid');
    await mounted(d, 'top', (dir) => rm(join(dir, 'doomed')));
    expect((await d.changes('top', 'base')).map((c) => `${'CAD'[c.kind]} ${c.path}`)).toEqual([
      'D /doomed',
      'A /mid-file',
    ]);
    await d.create('replay', 'base');
    await d.applyDiff('replay', 'base', await d.diff('top', 'base'));
    expect(await mounted(d, 'replay', treeSnapshot)).toEqual(await mounted(d, 'top', treeSnapshot));
  });

  it("sizes a layer by its upper directory, as moby's overlay2 does", async () => {
    const d = await openDriver();
    await baseLayer(d);
    await d.createReadWrite('ctr', 'base');
    await mounted(d, 'ctr', async (dir) => {
      await writeFile(join(dir, 'etc/hostname'), Buffer.alloc(50));
      await rm(join(dir, 'doomed'));
      await writeFile(join(dir, 'big'), Buffer.alloc(1000));
    });
    expect(await d.diffSize('ctr', 'base')).toBe(1050);
  });
});

/** The driver's mount operations alone, so that core's naive diff does all the diff work. */
function mountOnly(d: OverlayDriver) {
  return {
    name: d.name,
    create: d.create.bind(d),
    createReadWrite: d.createReadWrite.bind(d),
    remove: d.remove.bind(d),
    get: d.get.bind(d),
    put: d.put.bind(d),
    exists: d.exists.bind(d),
    status: d.status.bind(d),
    cleanup: d.cleanup.bind(d),
  };
}

type Entry = {
  name: string;
  body?: string;
  type?: 'directory' | 'file';
  mode?: number;
  pax?: Record<string, string>;
};

function tarOf(entries: Entry[]): Readable {
  const tar = pack();
  for (const { body, ...header } of entries)
    tar.entry({ mtime: new Date(1_500_000_000_000), ...header }, body ?? '');
  tar.finalize();
  return Readable.from(tar, { objectMode: false });
}
