import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateId } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { bodyOf, listTree, openImages, rootfsTar, useTempRoots } from './helpers.js';

const CONTAINER = 'c0ffee00'.repeat(8);

describe('restart (open on the same data root)', () => {
  const tempRoot = useTempRoots();

  it('restores images, tags, metadata and read-write layers', async () => {
    const root = await tempRoot();
    const first = await openImages(root);
    const { id } = await first.svc.import({
      source: bodyOf(await rootfsTar()),
      repo: 'busybox',
      changes: ['CMD ["sh"]'],
    });
    await first.svc.tag(id, 'myrepo/bb:v1');
    await first.svc.createRWLayer(CONTAINER, id, async (initRoot) => {
      await mkdir(join(initRoot, 'etc'), { recursive: true });
      await writeFile(join(initRoot, 'etc', 'hosts'), '');
    });
    const rootfs = await first.svc.mountRWLayer(CONTAINER);
    await writeFile(join(rootfs, 'written-by-container'), 'hello');
    await first.svc.unmountRWLayer(CONTAINER);
    const inspected = await first.svc.inspect(id);
    const listed = await first.svc.list({ all: false, filters: {} });

    const second = await openImages(root);
    expect(await second.svc.inspect(id)).toEqual(inspected);
    expect(await second.svc.list({ all: false, filters: {} })).toEqual(listed);
    expect(second.svc.rwLayerExists(CONTAINER)).toBe(true);
    const again = await second.svc.mountRWLayer(CONTAINER);
    expect(await readFile(join(again, 'written-by-container'), 'utf8')).toBe('hello');
    expect(await readFile(join(again, 'etc', 'hosts'), 'utf8')).toBe('');
    expect(await readFile(join(again, 'etc', 'hostname'), 'utf8')).toBe('one\n');
    expect((await second.svc.rwLayerChanges(CONTAINER)).map((c) => `${c.kind} ${c.path}`)).toEqual([
      '1 /written-by-container',
    ]);
    await second.svc.unmountRWLayer(CONTAINER);
    expect(second.log.filter((e) => e.level === 'error')).toEqual([]);

    // The container's layer keeps the image layers alive across the restart as well.
    await second.svc.remove(id, { force: true });
    expect(await second.driverLayers()).toHaveLength(3);
    await second.svc.removeRWLayer(CONTAINER);
    expect(await second.driverLayers()).toEqual([]);
    expect(second.svc.rwLayerExists(CONTAINER)).toBe(false);
    expect(await readdir(join(root, 'image', 'vfs', 'layerdb', 'mounts'))).toEqual([]);
  });

  it('undoes what a crash left half done', async () => {
    const root = await tempRoot();
    const first = await openImages(root);
    const { id } = await first.svc.import({
      source: bodyOf(await rootfsTar()),
      repo: 'busybox',
      changes: [],
    });
    const unused = await first.svc.import({ source: bodyOf(await rootfsTar('unused')), changes: [] });
    const base = join(root, 'image', 'vfs');
    // A crash between committing a layer and storing the image that uses it: the layer record
    // stays with nobody holding it.
    await rm(join(base, 'imagedb', 'content', 'sha256', unused.id.slice(7)));
    // An interrupted layer registration: its transaction names the driver layer it made.
    const orphan = generateId();
    await first.driver.create(orphan, null);
    await mkdir(join(base, 'layerdb', 'tmp', 'write-set-0123'), { recursive: true });
    await writeFile(join(base, 'layerdb', 'tmp', 'write-set-0123', 'cache-id'), orphan);
    // Interrupted atomic writes.
    await writeFile(join(base, '.tmp-repositories.json-0123'), '{"Repos');
    await writeFile(join(base, 'imagedb', 'content', 'sha256', '.tmp-abc-0123'), '{');
    expect(await first.driverLayers()).toHaveLength(3);

    const second = await openImages(root);
    expect(await second.driverLayers()).toHaveLength(1);
    expect(await readdir(join(base, 'layerdb', 'sha256'))).toHaveLength(1);
    expect(await readdir(join(base, 'layerdb', 'tmp'))).toEqual([]);
    expect((await listTree(base)).filter((p) => p.includes('.tmp-'))).toEqual([]);
    expect((await second.svc.inspect('busybox')).Id).toBe(id);
    expect(second.log.filter((e) => e.level === 'error')).toEqual([]);
  });

  it('skips unreadable records, logs them, and keeps every layer they might need', async () => {
    const root = await tempRoot();
    const first = await openImages(root);
    const good = await first.svc.import({
      source: bodyOf(await rootfsTar('good')),
      repo: 'good',
      changes: [],
    });
    const bad = await first.svc.import({ source: bodyOf(await rootfsTar('bad')), repo: 'bad', changes: [] });
    const base = join(root, 'image', 'vfs');
    // Corrupt the second image's config (its digest no longer matches).
    await writeFile(join(base, 'imagedb', 'content', 'sha256', bad.id.slice(7)), '{"rootfs":');
    // A mount record with a bad id and a layer record with missing files.
    await mkdir(join(base, 'layerdb', 'mounts', 'not-a-container'), { recursive: true });
    await mkdir(join(base, 'layerdb', 'sha256', 'f'.repeat(64)), { recursive: true });

    const second = await openImages(root);
    expect((await second.svc.inspect('good')).Id).toBe(good.id);
    await expect(second.svc.inspect('bad')).rejects.toThrow('No such image: bad:latest');
    const errors = second.log.filter((e) => e.level === 'error').map((e) => String(e.fields?.path));
    expect(errors.some((p) => p.endsWith(bad.id.slice(7)))).toBe(true);
    expect(errors.some((p) => p.endsWith('not-a-container'))).toBe(true);
    expect(errors.some((p) => p.endsWith('f'.repeat(64)))).toBe(true);
    // The bad image's layer is unreferenced now, but stays for an operator to repair.
    expect(await second.driverLayers()).toHaveLength(2);
    expect(await readFile(join(base, 'imagedb', 'content', 'sha256', bad.id.slice(7)), 'utf8')).toBe(
      '{"rootfs":',
    );
  });

  it('sets a corrupt repositories.json aside instead of failing', async () => {
    const root = await tempRoot();
    const first = await openImages(root);
    const { id } = await first.svc.import({
      source: bodyOf(await rootfsTar()),
      repo: 'busybox',
      changes: [],
    });
    const base = join(root, 'image', 'vfs');
    await writeFile(join(base, 'repositories.json'), '{"Repositories":');
    const second = await openImages(root);
    expect((await second.svc.inspect(id)).RepoTags).toEqual([]);
    expect((await readdir(base)).some((n) => n.startsWith('repositories.json.corrupt-'))).toBe(true);
    await second.svc.tag(id, 'busybox');
    expect((await second.svc.inspect('busybox')).Id).toBe(id);
  });
});
