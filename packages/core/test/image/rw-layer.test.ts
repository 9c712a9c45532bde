import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsdockerError } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { bodyOf, openImages, rootfsTar, useTempRoots } from './helpers.js';

const C1 = 'c1'.repeat(32);
const C2 = 'c2'.repeat(32);

describe('read-write layers', () => {
  const tempRoot = useTempRoots();

  it('writes Docker’s mount record: mount-id, <mount-id>-init, parent chain id', async () => {
    const { svc, dataRoot, driverLayers } = await openImages(await tempRoot());
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    const { topChainId } = await svc.resolveImage('busybox');
    let initRoot = '';
    await svc.createRWLayer(C1, id, async (root) => {
      initRoot = root;
      await writeFile(join(root, 'etc', 'hostname'), '');
    });
    const dir = join(dataRoot, 'image', 'vfs', 'layerdb', 'mounts', C1);
    expect((await readdir(dir)).sort()).toEqual(['init-id', 'mount-id', 'parent']);
    const mountId = await readFile(join(dir, 'mount-id'), 'utf8');
    expect(mountId).toMatch(/^[a-f0-9]{64}$/);
    expect(await readFile(join(dir, 'init-id'), 'utf8')).toBe(`${mountId}-init`);
    expect(await readFile(join(dir, 'parent'), 'utf8')).toBe(topChainId);
    expect(initRoot.endsWith(`${mountId}-init`)).toBe(true);
    expect((await driverLayers()).sort()).toHaveLength(3);

    // The writable layer sees the image and the init layer; each mount needs an unmount.
    const a = await svc.mountRWLayer(C1);
    const b = await svc.mountRWLayer(C1);
    expect(a).toBe(b);
    expect(await readFile(join(a, 'etc', 'hostname'), 'utf8')).toBe('');
    await svc.unmountRWLayer(C1);
    await svc.unmountRWLayer(C1);
    await svc.unmountRWLayer(C1); // one too many: ignored
    expect(await svc.rwLayerSize(C1)).toMatchObject({ sizeRw: 0 });
  });

  it('accepts a chain id or null (empty rootfs) as parent', async () => {
    const { svc, dataRoot } = await openImages(await tempRoot());
    await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    const { topChainId } = await svc.resolveImage('busybox');
    await svc.createRWLayer(C1, topChainId, async () => {});
    await svc.createRWLayer(C2, null, async () => {});
    expect(await readdir(await svc.mountRWLayer(C2))).toEqual([]);
    await svc.unmountRWLayer(C2);
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'mounts', C2))).not.toContain('parent');
  });

  it('refuses bad input, a second layer for one container, and cleans up a failed init', async () => {
    const { svc, dataRoot, driverLayers } = await openImages(await tempRoot());
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    const kind = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => (TsdockerError.is(e) ? `${e.kind}: ${e.message}` : String(e)),
      );
    expect(await kind(svc.createRWLayer('../etc', id, async () => {}))).toBe(
      'invalid-argument: invalid container id "../etc"',
    );
    expect(await kind(svc.createRWLayer(C1, 'busybox', async () => {}))).toBe(
      'invalid-argument: invalid image or layer id "busybox"',
    );
    expect(await kind(svc.createRWLayer(C1, `sha256:${'0'.repeat(64)}`, async () => {}))).toBe(
      `not-found: No such image: sha256:${'0'.repeat(64)}`,
    );
    expect(
      await kind(
        svc.createRWLayer(C1, id, async () => {
          throw new Error('init failed');
        }),
      ),
    ).toBe('Error: init failed');
    expect(await driverLayers()).toHaveLength(1);
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'mounts'))).toEqual([]);
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'tmp'))).toEqual([]);

    await svc.createRWLayer(C1, id, async () => {});
    expect(await kind(svc.createRWLayer(C1, id, async () => {}))).toBe(
      `conflict: read-write layer for container ${C1} already exists`,
    );
    expect(await kind(svc.mountRWLayer(C2))).toBe(`not-found: no read-write layer for container ${C2}`);
    await svc.removeRWLayer(C2); // missing: nothing to do
    await svc.mountRWLayer(C1);
    await svc.removeRWLayer(C1); // releases the mount it still held
    expect(svc.rwLayerExists(C1)).toBe(false);
    expect(await driverLayers()).toHaveLength(1);
  });
});
