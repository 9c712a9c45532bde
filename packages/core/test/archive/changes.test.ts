import { execFileSync } from 'node:child_process';
import { chmod, lutimes, mkdir, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  type Change,
  changesSize,
  computeChanges,
  exportChanges,
  extractLayer,
  packDirectory,
} from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { collect, listTar, snapshot, useTempDirs } from './helpers.js';

const show = (changes: Change[]) => changes.map((c) => `${'CAD'[c.kind]} ${c.path}`);

describe('computeChanges / exportChanges', () => {
  const tempDir = useTempDirs();

  /** A parent tree and a full copy of it (cp -a keeps times, so the copy has no changes yet). */
  async function parentAndCopy(): Promise<{ parent: string; layer: string }> {
    const parent = await tempDir();
    await mkdir(join(parent, 'etc/conf.d'), { recursive: true });
    await mkdir(join(parent, 'var/cache/apt'), { recursive: true });
    await mkdir(join(parent, 'untouched'));
    await writeFile(join(parent, 'etc/hosts'), 'hosts');
    await writeFile(join(parent, 'etc/conf.d/a'), 'a');
    await writeFile(join(parent, 'var/cache/apt/pkg'), 'pkg');
    await writeFile(join(parent, 'untouched/f'), 'f');
    await writeFile(join(parent, 'will-be-dir'), 'file');
    await symlink('hosts', join(parent, 'etc/link'));
    const layer = join(await tempDir(), 'layer');
    execFileSync('cp', ['-a', parent, layer]);
    return { parent, layer };
  }

  it('reports nothing for identical trees', async () => {
    const { parent, layer } = await parentAndCopy();
    expect(await computeChanges(layer, parent)).toEqual([]);
  });

  it('lists A/C/D like docker diff, each changed directory before its content', async () => {
    const { parent, layer } = await parentAndCopy();
    await writeFile(join(layer, 'etc/hosts'), 'hosts, longer');
    await writeFile(join(layer, 'etc/conf.d/b'), 'b');
    await rm(join(layer, 'var/cache/apt'), { recursive: true });
    await mkdir(join(layer, 'new/sub'), { recursive: true });
    await writeFile(join(layer, 'new/sub/x'), 'x');
    await rm(join(layer, 'will-be-dir'));
    await mkdir(join(layer, 'will-be-dir'));
    await writeFile(join(layer, 'will-be-dir/inside'), 'i');
    await rm(join(layer, 'etc/link'));
    await symlink('HOSTS', join(layer, 'etc/link')); // same length and time, other target
    await lutimes(join(parent, 'etc/link'), new Date(0), new Date(0));
    await lutimes(join(layer, 'etc/link'), new Date(0), new Date(0));
    expect(show(await computeChanges(layer, parent))).toEqual([
      'C /etc',
      'C /etc/conf.d',
      'A /etc/conf.d/b',
      'C /etc/hosts',
      'C /etc/link',
      'A /new',
      'A /new/sub',
      'A /new/sub/x',
      'C /var',
      'C /var/cache',
      'D /var/cache/apt',
      'C /will-be-dir',
      'A /will-be-dir/inside',
    ]);
  });

  it('reports a metadata-only change but not a directory mtime change', async () => {
    const { parent, layer } = await parentAndCopy();
    await chmod(join(layer, 'untouched/f'), 0o600);
    await utimes(join(layer, 'var'), new Date(0), new Date(0));
    expect(show(await computeChanges(layer, parent))).toEqual(['C /untouched', 'C /untouched/f']);
  });

  it('treats a whole-second mtime as equal to the same second with nanoseconds', async () => {
    const { parent, layer } = await parentAndCopy();
    const precise = new Date(1_700_000_000_123);
    await utimes(join(parent, 'untouched/f'), precise, precise);
    await utimes(join(layer, 'untouched/f'), new Date(1_700_000_000_000), new Date(1_700_000_000_000));
    expect(await computeChanges(layer, parent)).toEqual([]);
    await utimes(join(layer, 'untouched/f'), new Date(1_700_000_001_000), new Date(1_700_000_001_000));
    expect(show(await computeChanges(layer, parent))).toEqual(['C /untouched', 'C /untouched/f']);
  });

  it('lists everything as added against no parent', async () => {
    const { layer } = await parentAndCopy();
    const changes = await computeChanges(layer, null);
    expect(changes.every((c) => c.kind === 1)).toBe(true);
    expect(changes.map((c) => c.path)).toContain('/var/cache/apt/pkg');
    expect(changes.map((c) => c.path)).not.toContain('/');
  });

  it('exports a diff tar that turns the parent into the layer', async () => {
    const { parent, layer } = await parentAndCopy();
    await writeFile(join(layer, 'etc/hosts'), 'changed!');
    await rm(join(layer, 'var/cache/apt'), { recursive: true });
    await rm(join(layer, 'etc/conf.d/a'));
    await writeFile(join(layer, 'added'), 'added');
    const changes = await computeChanges(layer, parent);
    const tar = await collect(exportChanges(layer, changes));
    expect((await listTar(tar)).map((h) => h.name)).toEqual([
      'added',
      'etc/',
      'etc/conf.d/',
      'etc/conf.d/.wh.a',
      'etc/hosts',
      'var/',
      'var/cache/',
      'var/cache/.wh.apt',
    ]);
    const applied = join(await tempDir(), 'applied');
    execFileSync('cp', ['-a', parent, applied]);
    await extractLayer(applied, Readable.from([tar]));
    expect(await snapshot(applied)).toEqual(await snapshot(layer));
    expect(await readdir(join(applied, 'var/cache'))).toEqual([]);
  });

  it('sizes the changed non-directories, counting hardlinked files once', async () => {
    const { parent, layer } = await parentAndCopy();
    await writeFile(join(layer, 'etc/hosts'), Buffer.alloc(100));
    await writeFile(join(layer, 'new'), Buffer.alloc(1000));
    execFileSync('ln', [join(layer, 'new'), join(layer, 'new-again')]);
    await rm(join(layer, 'untouched/f'));
    expect(await changesSize(layer, await computeChanges(layer, parent))).toBe(1100);
  });

  it('exports a base layer the same way packDirectory does', async () => {
    const { layer } = await parentAndCopy();
    const fromChanges = await listTar(await collect(exportChanges(layer, await computeChanges(layer, null))));
    const packed = await listTar(await collect(packDirectory(layer)));
    expect(fromChanges.map((h) => [h.name, h.type])).toEqual(packed.map((h) => [h.name, h.type]));
  });
});
