/**
 * `docker load` on overlay2 applies layers while the archive arrives (core's load-speculation.ts,
 * through this driver's setParent). These tests load through core's image service on the real
 * driver and check the outcome is the one a load that waits gives, on every path: a layer used as
 * prepared and moved onto its parent, a compressed layer, a layer the store has already, and
 * layers that fail (an unsafe entry, a wrong diff id), which must leave nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createImageService, type GraphImageService, type Logger } from '@tsdocker/core';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { OverlayDriver } from '../src/index.js';
import { useTempRoots } from './helpers.js';

const MiB = 1024 * 1024;
const MTIME = new Date(1_600_000_000_000);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

type Entry = { name: string; type?: 'file' | 'directory'; body?: Buffer | string; mode?: number };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ mtime: MTIME, mode: 0o644, ...header }, body ?? '', (err) => (err ? reject(err) : resolve())),
    );
  }
  p.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** A docker-save style archive (legacy layout) of one image with `layers` (plain or gzip tars). */
async function archiveOf(layers: Buffer[], opts: { diffIds?: string[]; tag?: string } = {}): Promise<Buffer> {
  const diffIds = opts.diffIds ?? layers.map((l) => sha(l[0] === 0x1f && l[1] === 0x8b ? gunzipSync(l) : l));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layers.map(() => ({ created_by: 'test' })),
    }),
  );
  const configName = `${sha(config).slice(7)}.json`;
  const dirs = layers.map((_, i) => `layer${i}`);
  const manifest = [
    { Config: configName, RepoTags: [opts.tag ?? 'ahead:latest'], Layers: dirs.map((d) => `${d}/layer.tar`) },
  ];
  // As Docker writes it: the layers first, the manifest last.
  return tarOf([
    ...layers.flatMap((layer, i) => [
      { name: `${dirs[i]}/`, type: 'directory' as const, mode: 0o755 },
      { name: `${dirs[i]}/layer.tar`, body: layer },
    ]),
    { name: configName, body: config },
    { name: 'manifest.json', body: JSON.stringify(manifest) },
  ]);
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The image service on `driver`, with setParent counted. */
async function imagesOn(driver: OverlayDriver, dataRoot: string) {
  const moved: Array<[string, string | null]> = [];
  const setParent = driver.setParent?.bind(driver);
  if (!setParent) throw new Error('this kernel gives overlay2 no native diff: the test needs one');
  const counted = new Proxy(driver, {
    get(target, prop, receiver) {
      if (prop === 'setParent')
        return (id: string, parent: string | null) => {
          moved.push([id, parent]);
          return setParent(id, parent);
        };
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  await mkdir(dataRoot, { recursive: true });
  const svc = createImageService({ dataRoot, graphDriver: counted, logger: silent });
  await svc.open();
  return { svc, moved };
}

function load(svc: GraphImageService, archive: Buffer, chunk = 64 * 1024): Promise<void> {
  const parts: Buffer[] = [];
  for (let i = 0; i < archive.length; i += chunk) parts.push(archive.subarray(i, i + chunk));
  return svc.load({ source: Readable.from(parts), quiet: true });
}

/** Driver layer directories (not `l/` or the driver's scratch dirs). */
async function driverLayers(driver: OverlayDriver): Promise<string[]> {
  return (await readdir(driver.home)).filter((n) => n !== 'l' && !n.startsWith('.')).sort();
}

/** What a container of `ref` sees at `paths` (null: missing), through a read-write layer. */
async function seen(svc: GraphImageService, ref: string, paths: string[]) {
  const image = await svc.inspect(ref);
  const top = (image.RootFS as { Layers: string[] }).Layers;
  expect(top.length).toBeGreaterThan(0);
  const layers = svc.layers;
  const chain = layers.get(chainIdOf(top));
  expect(chain).toBeDefined();
  const id = randomBytes(32).toString('hex');
  await layers.createRW(id, chainIdOf(top), async () => {});
  try {
    const root = await layers.mountRW(id);
    try {
      return await Promise.all(paths.map((p) => readFile(join(root, p), 'utf8').catch(() => null)));
    } finally {
      await layers.unmountRW(id);
    }
  } finally {
    await layers.removeRW(id);
  }
}

function chainIdOf(diffIds: string[]): string {
  let chain = diffIds[0] as string;
  for (const d of diffIds.slice(1)) chain = sha(Buffer.from(`${chain} ${d}`));
  return chain;
}

/** A file body over the size worth applying ahead, incompressible (a gzip layer of it stays so). */
const big = (tag: string) => Buffer.concat([randomBytes(MiB), Buffer.from(tag)]);

/** A fresh root with an overlay driver and the image service over it (`setParent` counted). */
async function freshImages(roots: ReturnType<typeof useTempRoots>) {
  const root = await roots.tempRoot();
  const driver = await roots.openDriver(root);
  const dataRoot = join(root, 'images');
  return { root, driver, dataRoot, ...(await imagesOn(driver, dataRoot)) };
}

/** No driver layer and no load spool are left. */
async function expectNothingLeft(driver: OverlayDriver, dataRoot: string): Promise<void> {
  expect(await driverLayers(driver)).toEqual([]);
  expect(await readdir(join(dataRoot, 'image', 'overlay2', 'layerdb', 'tmp'))).toEqual([]);
}

describe('docker load on overlay2 applies layers while the archive arrives', () => {
  const roots = useTempRoots();

  async function twoLayers() {
    const base = await tarOf([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/keep', body: 'keep' },
      { name: 'etc/gone', body: 'gone' },
      { name: 'big-base', body: big('base') },
    ]);
    const child = await tarOf([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/.wh.gone' },
      { name: 'etc/new', body: 'new' },
      { name: 'big-child', body: big('child') },
    ]);
    return { base, child };
  }

  it('uses the prepared layers, moves the child onto its parent, and the container sees the stack', async () => {
    const { svc, moved, driver } = await freshImages(roots);
    const { base, child } = await twoLayers();
    await load(svc, await archiveOf([base, child]));
    // Both layers were applied ahead; only the child needed moving.
    expect(moved).toHaveLength(1);
    expect((await svc.inspect('ahead')).RootFS).toEqual({ Type: 'layers', Layers: [sha(base), sha(child)] });
    expect(await seen(svc, 'ahead', ['etc/keep', 'etc/gone', 'etc/new'])).toEqual(['keep', null, 'new']);
    expect(await driverLayers(driver)).toHaveLength(2);
    // Saved back, the layer tars are the very bytes loaded.
    const layers = svc.layers;
    const kept = await layers.layerTar(chainIdOf([sha(base), sha(child)]));
    expect(kept && sha(await readFile(kept.path))).toBe(sha(child));
  });

  it('a gzip layer is prepared too; loading the image again applies nothing', async () => {
    const { svc, moved, driver, dataRoot } = await freshImages(roots);
    const { base, child } = await twoLayers();
    // The child is the gzip one: it is moved onto its parent only if it was prepared.
    const archive = await archiveOf([base, gzipSync(child)]);
    await load(svc, archive);
    expect(moved).toHaveLength(1);
    expect((await svc.inspect('ahead')).RootFS).toEqual({ Type: 'layers', Layers: [sha(base), sha(child)] });
    expect(await seen(svc, 'ahead', ['etc/keep', 'etc/new'])).toEqual(['keep', 'new']);
    await load(svc, archive);
    expect(moved).toHaveLength(1);
    expect(await driverLayers(driver)).toHaveLength(2);
    expect(await readdir(join(dataRoot, 'image', 'overlay2', 'layerdb', 'tmp'))).toEqual([]);
  });

  it('a layer with an unsafe entry fails the load as before, and nothing is left', async () => {
    const { svc, driver, dataRoot, root } = await freshImages(roots);
    const evil = await tarOf([
      { name: 'big', body: big('evil') },
      { name: '../escape', body: 'out' },
    ]);
    await expect(load(svc, await archiveOf([evil]))).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expectNothingLeft(driver, dataRoot);
    await expect(readdir(join(root, 'escape'))).rejects.toThrow();
  });

  it('a diff id that does not match fails with moby’s message, and nothing is left', async () => {
    const { svc, driver, dataRoot } = await freshImages(roots);
    const { base } = await twoLayers();
    const wrong = sha(Buffer.from('another layer'));
    await expect(load(svc, await archiveOf([base], { diffIds: [wrong] }))).rejects.toThrow(
      `invalid diffID for layer 0: expected "${wrong}", got "${sha(base)}"`,
    );
    await expectNothingLeft(driver, dataRoot);
  });
});

describe('docker load on overlay2, applying ahead: the edges', () => {
  const roots = useTempRoots();

  it('a client that hangs up in the middle of a layer fails the load and leaves nothing', async () => {
    const { svc, driver, dataRoot } = await freshImages(roots);
    const layer = await tarOf([
      { name: 'a', body: big('a') },
      { name: 'b', body: big('b') },
    ]);
    const archive = await archiveOf([layer]);
    const cut = Math.floor(archive.length / 2);
    const source = new Readable({
      read() {
        this.push(archive.subarray(0, cut));
        this.destroy(new Error('connection reset by peer'));
      },
    });
    await expect(svc.load({ source, quiet: true })).rejects.toThrow();
    await expectNothingLeft(driver, dataRoot);
  });

  it('the Docker 25+ layout (layers as blobs): prepared from the blob, and a blob not matching its name is refused', async () => {
    const { svc, moved, driver } = await freshImages(roots);
    const base = await tarOf([{ name: 'base', body: big('base') }]);
    const child = await tarOf([{ name: 'child', body: big('child') }]);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [sha(base), sha(child)] },
      }),
    );
    const blob = (b: Buffer) => `blobs/sha256/${sha(b).slice(7)}`;
    const archiveWith = (childName: string) =>
      tarOf([
        { name: 'blobs/', type: 'directory', mode: 0o755 },
        { name: 'blobs/sha256/', type: 'directory', mode: 0o755 },
        { name: childName, body: child },
        { name: blob(base), body: base },
        { name: blob(config), body: config },
        {
          name: 'manifest.json',
          body: JSON.stringify([
            { Config: blob(config), RepoTags: ['blobs:latest'], Layers: [blob(base), childName] },
          ]),
        },
      ]);
    await load(svc, await archiveWith(blob(child)));
    expect(moved).toHaveLength(1);
    expect(await seen(svc, 'blobs', ['base', 'child'])).not.toContain(null);

    // The same child under another blob's name: refused while spooled, and nothing new is kept.
    const layersBefore = await driverLayers(driver);
    const wrongName = `blobs/sha256/${'0'.repeat(64)}`;
    await expect(load(svc, await archiveWith(wrongName))).rejects.toThrow('does not match its content');
    expect(await driverLayers(driver)).toEqual(layersBefore);
  });

  it('a load that is not quiet reports each prepared layer as loaded, then the tag', async () => {
    const { svc, moved } = await freshImages(roots);
    const base = await tarOf([{ name: 'one', body: big('one') }]);
    const child = await tarOf([{ name: 'two', body: big('two') }]);
    const archive = await archiveOf([base, child]);
    const messages: Array<Record<string, unknown>> = [];
    await svc.load({
      source: Readable.from([archive]),
      quiet: false,
      progress: (m) => messages.push(m as Record<string, unknown>),
    });
    expect(moved).toHaveLength(1);
    const layerLines = messages.filter((m) => m.status === 'Loading layer');
    expect(layerLines.map((m) => m.id)).toEqual([sha(base).slice(7, 19), sha(child).slice(7, 19)]);
    for (const line of layerLines) {
      const detail = line.progressDetail as { current: number; total: number };
      expect(detail.current).toBe(detail.total);
    }
    expect(messages.at(-1)).toEqual({ stream: 'Loaded image: ahead:latest\n' });
  });

  it('a layer is recognised however the upload is cut, even into 100-byte pieces', async () => {
    const { svc, moved } = await freshImages(roots);
    const base = await tarOf([{ name: 'one', body: big('one') }]);
    const child = await tarOf([{ name: 'two', body: big('two') }]);
    await load(svc, await archiveOf([base, child]), 100);
    expect(moved).toHaveLength(1);
    expect(await seen(svc, 'ahead', ['one', 'two'])).not.toContain(null);
  });

  it('two loads of one archive at once both succeed and share the layers', async () => {
    const { svc, driver } = await freshImages(roots);
    const base = await tarOf([{ name: 'one', body: big('one') }]);
    const child = await tarOf([{ name: 'two', body: big('two') }]);
    const archive = await archiveOf([base, child]);
    await Promise.all([load(svc, archive), load(svc, archive)]);
    expect(await driverLayers(driver)).toHaveLength(2);
    expect(await seen(svc, 'ahead', ['one', 'two'])).not.toContain(null);
  });

  it('a prepared layer a crash left behind is removed when the store opens again', async () => {
    const { svc, driver, dataRoot } = await freshImages(roots);
    const layer = await tarOf([{ name: 'f', body: 'f' }]);
    // Prepared, never committed nor discarded: what a daemon killed mid-load leaves.
    const prepared = await svc.layers.prepareBase(async (keepAt, apply) => {
      await writeFile(keepAt, layer);
      const size = await apply(Readable.from([layer]));
      return { diffId: sha(layer) as `sha256:${string}`, size, tarBytes: layer.length };
    });
    expect(prepared.diffId).toBe(sha(layer));
    expect(await driverLayers(driver)).toHaveLength(1);
    await imagesOn(driver, dataRoot);
    expect(await driverLayers(driver)).toEqual([]);
  });
});
