import { lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDriver, DRIVER_API_VERSION, TsdockerError } from '@tsdocker/core';
import { graphDriverContext } from '@tsdocker/core/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import vfs, { VfsDriver } from '../src/index.js';

describe('vfs descriptor and layout', () => {
  const roots: string[] = [];
  afterEach(async () => {
    await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
  });
  async function tempRoot(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'tsdocker-vfs-'));
    roots.push(root);
    return root;
  }

  it('is a graph driver descriptor for this driver API', () => {
    expect(vfs).toMatchObject({ kind: 'graph', name: 'vfs', apiVersion: DRIVER_API_VERSION });
  });

  it('takes no options', () => {
    expect(vfs.parseOptions?.(undefined)).toEqual({});
    expect(vfs.parseOptions?.({})).toEqual({});
    expect(() => vfs.parseOptions?.({ size: '10G' })).toThrow(/vfs takes no options \(got size\)/);
  });

  it.skipIf(process.getuid?.() !== 0)('probes as supported here, leaving nothing behind', async () => {
    const ctx = await graphDriverContext(await tempRoot(), vfs);
    expect(await vfs.probe?.(ctx)).toEqual({ supported: true });
    expect(await readdir(ctx.stateDir)).toEqual([]);
  });

  it("keeps layers in Docker's layout and reports the backing filesystem", async () => {
    const root = await tempRoot();
    const ctx = await graphDriverContext(root, vfs);
    const driver = await vfs.create(ctx, {});
    await driver.create('abc123', null);
    expect((await lstat(join(ctx.stateDir, 'dir', 'abc123'))).isDirectory()).toBe(true);
    expect(await driver.get('abc123')).toBe(join(ctx.stateDir, 'dir', 'abc123'));
    await driver.put('abc123');
    const [[key, value]] = driver.status() as [[string, string]];
    expect(key).toBe('Backing Filesystem');
    expect(value).toMatch(/^(extfs|xfs|btrfs|tmpfs|overlayfs|zfs|[a-z0-9]+|<unknown>)$/);
    // Every diff operation is there (from core's naive diff).
    expect(
      [driver.diff, driver.changes, driver.applyDiff, driver.diffSize].every((f) => typeof f === 'function'),
    ).toBe(true);
  });

  it('clears what a crash left in staging when it opens', async () => {
    const home = join(await tempRoot(), 'vfs');
    await mkdir(join(home, 'staging', 'creating-x-0123'), { recursive: true });
    await VfsDriver.open(home);
    expect(await readdir(join(home, 'staging'))).toEqual([]);
  });

  it('refuses per-layer storage options', async () => {
    const driver = await VfsDriver.open(join(await tempRoot(), 'vfs'));
    const err = await driver.create('x', null, { storageOpt: { size: '1G' } }).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    expect(await driver.exists('x')).toBe(false);
  });

  it("is created by core's loader like any driver", async () => {
    const root = await tempRoot();
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const driver = await createDriver(
      vfs,
      {},
      { dataRoot: join(root, 'data'), execRoot: join(root, 'exec'), logger },
    );
    expect(driver.name).toBe('vfs');
    await driver.cleanup();
  });
});
