/**
 * overlay2's own behaviour, beyond the conformance kit: moby's layout and short links, mount
 * options of deep chains, reference-counted and read-only mounts, crash recovery, probe reasons.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDriver, DRIVER_API_VERSION, TsdockerError } from '@tsdocker/core';
import { graphDriverContext } from '@tsdocker/core/testkit';
import { describe, expect, it, vi } from 'vitest';
import overlay2, { MAX_LOWER_DEPTH, OverlayDriver } from '../src/index.js';
import { kernelSupport } from '../src/support.js';
import { mounted, useTempRoots } from './helpers.js';
import { mountsBelow } from './mount-cleanup.js';

const kindOf = (err: unknown) => (TsdockerError.is(err) ? err.kind : String(err));

describe('overlay2 descriptor', () => {
  const { tempRoot } = useTempRoots();

  it('is a graph driver descriptor for this driver API', () => {
    expect(overlay2).toMatchObject({ kind: 'graph', name: 'overlay2', apiVersion: DRIVER_API_VERSION });
  });

  it("takes dockerd's storage-opts keys and refuses what it does not implement", () => {
    expect(overlay2.parseOptions?.(undefined)).toEqual({});
    expect(overlay2.parseOptions?.({})).toEqual({});
    expect(kindOf(catching(() => overlay2.parseOptions?.({ 'overlay2.size': '10G' })))).toBe('not-supported');
    expect(() => overlay2.parseOptions?.({ 'overlay2.colour': 'blue' })).toThrow(
      'overlay2: unknown option overlay2.colour',
    );
  });

  it('probes as supported here, leaving nothing behind', async () => {
    const root = await tempRoot();
    const ctx = await graphDriverContext(root, overlay2);
    expect(await overlay2.probe?.(ctx)).toEqual({ supported: true });
    expect(await readdir(ctx.stateDir)).toEqual([]);
    expect(mountsBelow(root)).toEqual([]);
  });

  it('says why when the backing filesystem is itself overlayfs', async () => {
    const root = await tempRoot();
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(join(root, d));
    await run('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${root}/lower,upperdir=${root}/upper,workdir=${root}/work`,
      `${root}/merged`,
    ]);
    const ctx = await graphDriverContext(join(root, 'merged'), overlay2);
    const probe = await overlay2.probe?.(ctx);
    expect(probe).toEqual({
      supported: false,
      reason: expect.stringMatching(
        /is overlayfs, and overlayfs cannot use an overlay filesystem as its upper layer/,
      ),
    });
    const err = await createDriver(
      overlay2,
      {},
      { dataRoot: ctx.dataRoot, execRoot: ctx.execRoot, logger: silent },
    ).catch((e: unknown) => e);
    expect(kindOf(err)).toBe('unavailable');
    expect(String(err)).toMatch(
      /graph driver overlay2 is not supported on this machine: the backing filesystem .* is overlayfs/,
    );
  });

  it('says why without overlayfs in the kernel, with what modprobe said', async () => {
    const root = await tempRoot();
    const filesystems = join(root, 'filesystems');
    await writeFile(filesystems, 'nodev\tsysfs\nnodev\ttmpfs\n\text4\n');
    const modprobe = join(root, 'modprobe');
    await writeFile(modprobe, '#!/bin/sh\necho "modprobe: FATAL: Module overlay not found." >&2\nexit 1\n', {
      mode: 0o755,
    });
    expect(await kernelSupport(filesystems, modprobe)).toBe(
      'the kernel does not support overlayfs: "overlay" is not in /proc/filesystems, and modprobe overlay failed: modprobe: FATAL: Module overlay not found.',
    );
    expect(await kernelSupport()).toBeNull();
  });

  it('says why without root', async () => {
    const ctx = await graphDriverContext(await tempRoot(), overlay2);
    const spy = vi.spyOn(process, 'getuid').mockReturnValue(1000);
    try {
      expect(await overlay2.probe?.(ctx)).toEqual({
        supported: false,
        reason: 'mounting overlays needs root (running as uid 1000)',
      });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('overlay2 layout and mounts', () => {
  const { tempRoot, openDriver } = useTempRoots();

  it("reports moby's status lines", async () => {
    const d = await openDriver();
    expect(d.status()).toEqual([
      ['Backing Filesystem', 'extfs'],
      ['Supports d_type', 'true'],
      ['Using metacopy', 'false'],
      ['Native Overlay Diff', 'true'],
      ['userxattr', 'false'],
    ]);
  });

  it('keeps layers in diff directories with short links and a lower chain', async () => {
    const d = await openDriver();
    await d.create('base', null);
    await d.create('mid', 'base');
    await d.createReadWrite('top', 'mid');
    const link: Record<string, string> = {};
    for (const id of ['base', 'mid', 'top']) {
      link[id] = await readFile(join(d.home, id, 'link'), 'utf8');
      expect(link[id]).toMatch(/^[A-Z2-7]{26}$/);
      expect(await readlink(join(d.home, 'l', link[id]!))).toBe(`../${id}/diff`);
    }
    expect(new Set(Object.values(link)).size).toBe(3);
    expect(existsSync(join(d.home, 'base/lower'))).toBe(false);
    expect(existsSync(join(d.home, 'base/work'))).toBe(false);
    expect(await readFile(join(d.home, 'mid/lower'), 'utf8')).toBe(`l/${link.base}`);
    expect(await readFile(join(d.home, 'top/lower'), 'utf8')).toBe(`l/${link.mid}:l/${link.base}`);
    expect(existsSync(join(d.home, 'top/work'))).toBe(true);
    // A layer with a child is committed (mounted read-only from then on); the top one is not.
    expect(['base', 'mid', 'top'].map((id) => existsSync(join(d.home, id, 'committed')))).toEqual([
      true,
      true,
      false,
    ]);

    await d.remove('top');
    expect(existsSync(join(d.home, 'top'))).toBe(false);
    expect(existsSync(join(d.home, 'l', link.top!))).toBe(false);
    expect((await readdir(join(d.home, 'l'))).sort()).toEqual([link.base, link.mid].sort());
  });

  it(`mounts a ${MAX_LOWER_DEPTH + 1}-layer chain with options under one page, and refuses one more`, async () => {
    const d = await openDriver();
    const ids = Array.from({ length: MAX_LOWER_DEPTH + 1 }, (_, i) => `layer-${i}`);
    for (const [i, id] of ids.entries()) {
      await d.create(id, i === 0 ? null : ids[i - 1]!);
      await writeFile(join(d.diffDir(id), `f${i}`), `layer ${i}`);
      if (i === 100) await writeFile(join(d.diffDir(id), 'f7'), 'shadowed by layer 100');
    }
    const top = ids.at(-1)!;
    const plan = await d.mountPlan(top);
    // Absolute lower paths would not fit; relative short links do.
    expect(MAX_LOWER_DEPTH * (d.home.length + '/l/'.length + 27)).toBeGreaterThan(4095);
    expect(plan.data.length).toBeLessThanOrEqual(4095);
    expect(plan.readonly).toBe(false);
    const lowerdir = /lowerdir=([^,]*)/.exec(plan.data)![1]!.split(':');
    expect(lowerdir).toHaveLength(MAX_LOWER_DEPTH);
    for (const entry of lowerdir) expect(entry).toMatch(/^l\/[A-Z2-7]{26}$/);
    await expect(d.create('one-too-many', top)).rejects.toThrow(/max depth exceeded/);

    await mounted(d, top, async (dir) => {
      expect(mountsBelow(d.home)).toEqual([dir]);
      expect((await readdir(dir)).length).toBe(ids.length);
      expect(await readFile(join(dir, 'f0'), 'utf8')).toBe('layer 0');
      expect(await readFile(join(dir, 'f7'), 'utf8')).toBe('shadowed by layer 100');
      expect(await readFile(join(dir, `f${MAX_LOWER_DEPTH}`), 'utf8')).toBe(`layer ${MAX_LOWER_DEPTH}`);
    });
    // A committed layer in the middle mounts read-only, with itself as the top lower.
    expect((await d.mountPlan('layer-99')).readonly).toBe(true);
    await mounted(d, 'layer-99', async (dir) => {
      expect(await readFile(join(dir, 'f7'), 'utf8')).toBe('layer 7');
      expect((await readdir(dir)).length).toBe(100);
    });
    expect(mountsBelow(d.home)).toEqual([]);
  });

  it('counts gets: one mount for many, unmounted and its mount point removed at the last put', async () => {
    const d = await openDriver();
    await d.create('base', null);
    await writeFile(join(d.diffDir('base'), 'file'), 'base');
    await d.createReadWrite('ctr', 'base');
    const merged = d.mergedDir('ctr');
    expect(await d.get('ctr')).toBe(merged);
    expect(await d.get('ctr')).toBe(merged);
    expect(mountsBelow(d.home)).toEqual([merged]);
    await d.put('ctr');
    expect(mountsBelow(d.home)).toEqual([merged]);
    expect(await readFile(join(merged, 'file'), 'utf8')).toBe('base');
    await d.put('ctr');
    expect(mountsBelow(d.home)).toEqual([]);
    expect(existsSync(merged)).toBe(false);
    expect(kindOf(await d.put('ctr').catch((e: unknown) => e))).toBe('conflict');
    // A base layer is its diff directory: counted, never mounted.
    expect(await d.get('base')).toBe(d.diffDir('base'));
    expect(mountsBelow(d.home)).toEqual([]);
    await d.put('base');
  });

  it('mounts a layer read-only once it has a child', async () => {
    const d = await openDriver();
    await d.create('base', null);
    await d.createReadWrite('mid', 'base');
    await mounted(d, 'mid', (dir) => writeFile(join(dir, 'written'), 'while writable'));
    await d.createReadWrite('top', 'mid');
    await mounted(d, 'mid', async (dir) => {
      expect(await readFile(join(dir, 'written'), 'utf8')).toBe('while writable');
      const err = await writeFile(join(dir, 'late'), 'x').catch((e: NodeJS.ErrnoException) => e.code);
      expect(err).toBe('EROFS');
    });
  });

  it('unmounts a layer before removing it, never deleting through the mount', async () => {
    const d = await openDriver();
    await d.create('base', null);
    await writeFile(join(d.diffDir('base'), 'precious'), 'keep me');
    await d.createReadWrite('ctr', 'base');
    await d.get('ctr');
    await d.remove('ctr');
    expect(mountsBelow(d.home)).toEqual([]);
    expect(await d.exists('ctr')).toBe(false);
    expect(await readFile(join(d.diffDir('base'), 'precious'), 'utf8')).toBe('keep me');
  });

  it('cleanup unmounts everything and can run twice', async () => {
    const d = await openDriver();
    await d.create('base', null);
    await d.createReadWrite('a', 'base');
    await d.createReadWrite('b', 'base');
    await d.get('a');
    await d.get('b');
    expect(mountsBelow(d.home)).toHaveLength(2);
    await d.cleanup();
    await d.cleanup();
    expect(mountsBelow(d.home)).toEqual([]);
  });

  it('cleans at open the mounts a killed driver left behind', async () => {
    const root = await tempRoot();
    const first = await openDriver(root);
    await first.create('base', null);
    await writeFile(join(first.diffDir('base'), 'file'), 'survives the crash');
    await first.createReadWrite('ctr', 'base');

    // Another process mounts the layer and is killed: nothing releases the mount.
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run pnpm build first`);
    const script = `
      const { OverlayDriver } = await import(${JSON.stringify(pathToFileURL(dist).href)});
      const driver = await OverlayDriver.open(${JSON.stringify(first.home)});
      process.stdout.write((await driver.get('ctr')) + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const mountedAt = await firstLine(child);
      expect(mountedAt).toBe(first.mergedDir('ctr'));
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
    expect(mountsBelow(root)).toEqual([first.mergedDir('ctr')]);

    const second = await openDriver(root);
    expect(mountsBelow(root)).toEqual([]);
    await mounted(second, 'ctr', async (dir) => {
      expect(await readFile(join(dir, 'file'), 'utf8')).toBe('survives the crash');
    });
  });

  it('clears scratch directories and dangling links at open', async () => {
    const root = await tempRoot();
    const first = await openDriver(root);
    await first.create('kept', null);
    const keptLink = await readFile(join(first.home, 'kept/link'), 'utf8');
    await mkdir(join(first.home, '.staging/creating-0123/diff'), { recursive: true });
    await mkdir(join(first.home, '.check-0123/l1'), { recursive: true });
    await symlink('../gone/diff', join(first.home, 'l', 'AAAAAAAAAAAAAAAAAAAAAAAAAA'));
    const second = await openDriver(root);
    expect(await readdir(join(second.home, '.staging'))).toEqual([]);
    expect(existsSync(join(second.home, '.check-0123'))).toBe(false);
    expect(await readdir(join(second.home, 'l'))).toEqual([keptLink]);
    expect(await second.exists('kept')).toBe(true);
  });

  it('refuses per-layer options it does not implement, and the reserved id "l"', async () => {
    const d = await openDriver();
    expect(kindOf(await d.create('x', null, { storageOpt: { size: '1G' } }).catch((e: unknown) => e))).toBe(
      'invalid-argument',
    );
    expect(
      kindOf(await d.createReadWrite('x', null, { storageOpt: { size: '1G' } }).catch((e: unknown) => e)),
    ).toBe('not-supported');
    expect(kindOf(await d.create('l', null).catch((e: unknown) => e))).toBe('invalid-argument');
    expect(await d.exists('x')).toBe(false);
  });

  it('opens in a fresh directory by itself', async () => {
    const d = await OverlayDriver.open(join(await tempRoot(), 'nested/overlay2'));
    try {
      expect(await readdir(d.home)).toEqual(['.staging', 'l']);
    } finally {
      await d.cleanup();
    }
  });
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`);
}

function firstLine(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.once('exit', (code) => reject(new Error(`the driver process exited ${code} early: ${err}`)));
  });
}
