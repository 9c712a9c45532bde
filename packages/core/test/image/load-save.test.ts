/**
 * `docker load` and `docker save` on the image service over the real vfs driver, against the
 * archives real dockerd wrote (shared/fixtures/images) and their ground truth.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ProgressMessage } from '@tsdocker/core';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { bodyOf, FIXTURES, gzip, openImages, rootfsTar, useTempRoots } from './helpers.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const fixture = (name: string) => readFile(join(FIXTURES, name));
const LAYERED_ID = 'sha256:d0df6f761cd0ffca5baa9e82aaa4a4b4f56cf42b0f252d0768f1762d8515d41f';
/** skopeo rewrote the config for the OCI copy (it drops Docker-only fields), so its id differs. */
const LAYERED_OCI_ID = 'sha256:5e99aa35b7f12c5e50be9637b1c179c2da375f6886f3ca761bc8f99d12e4133a';
/** `container.Config` fields image inspect no longer shows from API 1.50 on. */
const API_150_DROPPED = [
  'Hostname',
  'Domainname',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'Tty',
  'OpenStdin',
  'StdinOnce',
  'Image',
];
const BUSYBOX_ID = 'sha256:0a27d1de91d69b413197988674e20e150340c514c7588f89369a765f8863ac52';

async function diffIds(): Promise<string[]> {
  return (await readFile(join(FIXTURES, 'layered.diffids.txt'), 'utf8')).trim().split('\n');
}

async function load(
  svc: Awaited<ReturnType<typeof openImages>>['svc'],
  archive: Buffer,
  opts: { quiet?: boolean } = {},
): Promise<ProgressMessage[]> {
  const messages: ProgressMessage[] = [];
  await svc.load({
    source: bodyOf(archive, 64 * 1024),
    quiet: opts.quiet ?? true,
    progress: (m) => messages.push(m),
  });
  return messages;
}

const streams = (messages: ProgressMessage[]) => messages.filter((m) => 'stream' in m).map((m) => m.stream);

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Entries of a tar, in order, with their contents. */
async function readTar(
  tar: Buffer,
): Promise<Array<{ name: string; type: string; mode: number; data: Buffer }>> {
  const parser = extract();
  const out: Array<{ name: string; type: string; mode: number; data: Buffer }> = [];
  const done = (async () => {
    for await (const entry of parser) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.push({
        name: entry.header.name,
        type: entry.header.type ?? '',
        mode: entry.header.mode ?? 0,
        data: Buffer.concat(chunks),
      });
    }
  })();
  parser.end(tar);
  await done;
  return out;
}

describe('docker load', () => {
  const tempRoot = useTempRoots();

  it('loads busybox.tar (legacy layout) with its tag and keeps the exact layer tar', async () => {
    const { svc, dataRoot } = await openImages(await tempRoot());
    const messages = await load(svc, await fixture('busybox.tar'));
    expect(streams(messages)).toEqual(['Loaded image: busybox:latest\n']);
    const inspect = await svc.inspect('busybox');
    expect(inspect.Id).toBe(BUSYBOX_ID);
    expect(inspect.RepoTags).toEqual(['busybox:latest']);
    // A loaded tag is not a `docker tag`: LastTagTime stays zero (as the fixture README notes).
    expect((inspect.Metadata as { LastTagTime: string }).LastTagTime).toBe('0001-01-01T00:00:00Z');
    const layers = (inspect.RootFS as { Layers: string[] }).Layers;
    const layerDir = join(dataRoot, 'image', 'vfs', 'layerdb', 'sha256', (layers[0] as string).slice(7));
    expect(sha(await readFile(join(layerDir, 'layer.tar')))).toBe(layers[0]);
    // The spool is gone.
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'tmp'))).toEqual([]);
  });

  it('loads layered.tar: 7 layers with their diff ids, one image, the ground-truth config', async () => {
    const { svc } = await openImages(await tempRoot());
    const messages = await load(svc, await fixture('layered.tar'));
    expect(streams(messages)).toEqual(['Loaded image: tsd-fixture/layered:1.0\n']);
    const inspect = await svc.inspect('tsd-fixture/layered:1.0');
    const truth = JSON.parse(await readFile(join(FIXTURES, 'layered.inspect.json'), 'utf8'))[0];
    expect(inspect.Id).toBe(LAYERED_ID);
    expect(inspect.Id).toBe(truth.Id);
    expect(inspect.RootFS).toEqual(truth.RootFS);
    expect((inspect.RootFS as { Layers: string[] }).Layers).toEqual(await diffIds());
    // API 1.50 leaves out the container-only fields of the config (Hostname, Image, Tty, …); the
    // fixture was inspected through API 1.41. Everything this API version shows must match.
    const config = inspect.Config as Record<string, unknown>;
    for (const [key, value] of Object.entries(config)) expect(value, key).toEqual(truth.Config[key]);
    for (const key of Object.keys(truth.Config)) {
      if (!(key in config)) expect(API_150_DROPPED).toContain(key);
    }
    expect(svc.count()).toBe(1);
  });

  it('reports Loading layer progress unless quiet', async () => {
    const { svc } = await openImages(await tempRoot());
    const messages = await load(svc, await fixture('busybox.tar'), { quiet: false });
    const progress = messages.filter((m) => m.status === 'Loading layer');
    expect(progress.length).toBeGreaterThan(0);
    const last = progress.at(-1) as { id: string; progressDetail: { current: number; total: number } };
    expect(last.id).toMatch(/^[0-9a-f]{12}$/);
    expect(last.progressDetail.current).toBe(last.progressDetail.total);
    expect(streams(messages)).toEqual(['Loaded image: busybox:latest\n']);
  });

  it('loads the OCI layout with gzip layers: same layers, tag from the ref.name annotation', async () => {
    const { svc } = await openImages(await tempRoot());
    const messages = await load(svc, await fixture('layered-oci.tar'));
    expect(streams(messages)).toEqual(['Loaded image: tsd-fixture/layered:1.0\n']);
    const inspect = await svc.inspect('tsd-fixture/layered:1.0');
    expect(inspect.Id).toBe(LAYERED_OCI_ID);
    expect((inspect.RootFS as { Layers: string[] }).Layers).toEqual(await diffIds());
  });

  it('the Docker and the OCI archive share every layer; the tag moves with a notice', async () => {
    const { svc, dataRoot, driverLayers } = await openImages(await tempRoot());
    await load(svc, await fixture('layered.tar'));
    const before = (await driverLayers()).sort();
    const messages = await load(svc, await fixture('layered-oci.tar'));
    expect(streams(messages)).toEqual([
      `The image tsd-fixture/layered:1.0 already exists, renaming the old one with ID ${LAYERED_ID} to empty string\n`,
      'Loaded image: tsd-fixture/layered:1.0\n',
    ]);
    // Same chain ids: no layer was applied again.
    expect((await driverLayers()).sort()).toEqual(before);
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'sha256'))).toHaveLength(7);
    expect(svc.count()).toBe(2);
  });

  it('multitag.tar gives one image with two tags', async () => {
    const { svc } = await openImages(await tempRoot());
    const messages = await load(svc, await fixture('multitag.tar'));
    expect(streams(messages)).toEqual([
      'Loaded image: busybox:latest\n',
      'Loaded image: tsd-fixture/bb:alias\n',
    ]);
    expect(svc.count()).toBe(1);
    expect((await svc.inspect('tsd-fixture/bb:alias')).RepoTags).toEqual([
      'busybox:latest',
      'tsd-fixture/bb:alias',
    ]);
  });

  it('accepts a gzip-compressed archive', async () => {
    const { svc } = await openImages(await tempRoot());
    await load(svc, gzip(await fixture('busybox.tar')));
    expect((await svc.inspect('busybox')).Id).toBe(BUSYBOX_ID);
  });

  it('a spool a crash left behind is removed when the store opens again', async () => {
    const dataRoot = await tempRoot();
    await openImages(dataRoot);
    const left = join(dataRoot, 'image', 'vfs', 'layerdb', 'tmp', 'load-0123456789abcdef');
    await mkdir(left);
    await writeFile(join(left, '0'), 'half an archive');
    await openImages(dataRoot);
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'tmp'))).toEqual([]);
  });

  it('an untagged image reports its id', async () => {
    const { svc } = await openImages(await tempRoot());
    const saved = await collect(await (await loadThenSaveById(svc)).archive);
    const { svc: fresh } = await openImages(await tempRoot());
    expect(streams(await load(fresh, saved))).toEqual([`Loaded image ID: ${BUSYBOX_ID}\n`]);
    expect((await fresh.list({ all: true, filters: {} }))[0]?.RepoTags).toEqual([]);
  });
});

async function loadThenSaveById(svc: Awaited<ReturnType<typeof openImages>>['svc']) {
  await load(svc, await fixture('busybox.tar'));
  return { archive: await svc.save({ names: [BUSYBOX_ID] }) };
}

describe('docker save', () => {
  const tempRoot = useTempRoots();

  it("writes moby 25+'s layout, in name order, every blob named by its digest", async () => {
    const { svc } = await openImages(await tempRoot());
    await load(svc, await fixture('layered.tar'));
    const tar = await collect(await svc.save({ names: ['tsd-fixture/layered:1.0'] }));
    const entries = await readTar(tar);
    const names = entries.map((e) => e.name);
    expect(names.slice(0, 2)).toEqual(['blobs/', 'blobs/sha256/']);
    expect(names.slice(-4)).toEqual(['index.json', 'manifest.json', 'oci-layout', 'repositories']);
    const blobs = entries.filter((e) => e.type === 'file' && e.name.startsWith('blobs/sha256/'));
    expect(blobs.map((b) => b.name)).toEqual([...blobs.map((b) => b.name)].sort());
    for (const blob of blobs)
      expect(sha(blob.data)).toBe(`sha256:${blob.name.slice('blobs/sha256/'.length)}`);
    // 7 layers + config + OCI manifest.
    expect(blobs).toHaveLength(9);

    const text = (name: string) => (entries.find((e) => e.name === name)?.data ?? Buffer.alloc(0)).toString();
    const ids = await diffIds();
    expect(text('manifest.json')).toBe(
      `${JSON.stringify([
        {
          Config: `blobs/sha256/${LAYERED_ID.slice(7)}`,
          RepoTags: ['tsd-fixture/layered:1.0'],
          Layers: ids.map((d) => `blobs/sha256/${d.slice(7)}`),
        },
      ])}\n`,
    );
    expect(text('repositories')).toBe(
      `{"tsd-fixture/layered":{"1.0":"${(ids.at(-1) as string).slice(7)}"}}\n`,
    );
    expect(text('oci-layout')).toBe('{"imageLayoutVersion": "1.0.0"}');
    const index = JSON.parse(text('index.json'));
    expect(index).toMatchObject({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations).toEqual({
      'io.containerd.image.name': 'docker.io/tsd-fixture/layered:1.0',
      'org.opencontainers.image.ref.name': '1.0',
    });
    const manifest = JSON.parse(text(`blobs/sha256/${index.manifests[0].digest.slice(7)}`));
    expect(manifest.config).toEqual({
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: LAYERED_ID,
      size: svc.images.get(LAYERED_ID as never)?.raw.length,
    });
    expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(ids);
    // The config blob is the stored config, byte for byte.
    expect(sha(Buffer.from(text(`blobs/sha256/${LAYERED_ID.slice(7)}`)))).toBe(LAYERED_ID);

    // Layer tars are exactly the ones in the original archive.
    const original = await readTar(await fixture('layered.tar'));
    for (const layer of original.filter((e) => e.name.endsWith('/layer.tar'))) {
      expect(blobs.some((b) => b.data.equals(layer.data))).toBe(true);
    }
  });

  it('is deterministic, and loads back to the same image id in a fresh store', async () => {
    const { svc } = await openImages(await tempRoot());
    await load(svc, await fixture('layered.tar'));
    const a = await collect(await svc.save({ names: ['tsd-fixture/layered:1.0'] }));
    const b = await collect(await svc.save({ names: ['tsd-fixture/layered'] }));
    expect(a.equals(b)).toBe(true);
    const { svc: fresh } = await openImages(await tempRoot());
    expect(streams(await load(fresh, a))).toEqual(['Loaded image: tsd-fixture/layered:1.0\n']);
    expect((await fresh.inspect('tsd-fixture/layered:1.0')).Id).toBe(LAYERED_ID);
    // ...and saving that again gives the same bytes.
    expect((await collect(await fresh.save({ names: ['tsd-fixture/layered:1.0'] }))).equals(a)).toBe(true);
  });

  it('saves several images, every tag of a repository given by name, and an imported image', async () => {
    const { svc } = await openImages(await tempRoot());
    await load(svc, await fixture('multitag.tar'));
    await load(svc, await fixture('layered.tar'));
    const tar = await rootfsTar();
    const imported = await svc.import({ source: bodyOf(tar), repo: 'imp:1', changes: ['CMD ["sh"]'] });
    const archive = await collect(
      await svc.save({ names: ['busybox', 'tsd-fixture/bb', 'tsd-fixture/layered:1.0', 'imp:1'] }),
    );
    const entries = await readTar(archive);
    const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')?.data.toString() ?? '');
    expect(manifest.map((m: { RepoTags: string[] }) => m.RepoTags)).toEqual([
      ['busybox:latest', 'tsd-fixture/bb:alias'],
      ['tsd-fixture/layered:1.0'],
      ['imp:1'],
    ]);
    const index = JSON.parse(entries.find((e) => e.name === 'index.json')?.data.toString() ?? '');
    expect(index.manifests).toHaveLength(4);
    // The imported layer is the imported tar.
    expect(entries.some((e) => e.name === `blobs/sha256/${sha(tar).slice(7)}` && e.data.equals(tar))).toBe(
      true,
    );

    const { svc: fresh } = await openImages(await tempRoot());
    expect(streams(await load(fresh, archive))).toEqual([
      'Loaded image: busybox:latest\n',
      'Loaded image: tsd-fixture/bb:alias\n',
      'Loaded image: tsd-fixture/layered:1.0\n',
      'Loaded image: imp:1\n',
    ]);
    expect((await fresh.inspect('imp:1')).Id).toBe(imported.id);
    expect((await fresh.inspect('tsd-fixture/bb:alias')).Id).toBe(BUSYBOX_ID);
    expect(fresh.count()).toBe(3);
  });

  it('refuses unknown names before the stream starts, with moby’s messages', async () => {
    const { svc } = await openImages(await tempRoot());
    await load(svc, await fixture('busybox.tar'));
    await expect(svc.save({ names: ['busybox:nope'] })).rejects.toThrow('reference does not exist');
    await expect(svc.save({ names: ['nosuch'] })).rejects.toThrow('No such image: nosuch');
    await expect(svc.save({ names: ['Bad Name'] })).rejects.toMatchObject({ kind: 'invalid-argument' });
    // A short id works, and holds no layer after the stream is read.
    const archive = await collect(await svc.save({ names: [BUSYBOX_ID.slice(7, 19)] }));
    expect(archive.length).toBeGreaterThan(2_000_000);
    await svc.remove('busybox', {});
    expect(svc.count()).toBe(0);
  });

  it('a reader that goes away early releases the layers', async () => {
    const { svc, driverLayers } = await openImages(await tempRoot());
    await load(svc, await fixture('layered.tar'));
    const stream = await svc.save({ names: ['tsd-fixture/layered:1.0'] });
    await new Promise<void>((resolve) => stream.once('readable', () => resolve()));
    stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await svc.remove('tsd-fixture/layered:1.0', {});
    expect(await driverLayers()).toEqual([]);
  });

  it('a damaged kept tar fails the stream instead of writing a wrong layer', async () => {
    const { svc, dataRoot } = await openImages(await tempRoot());
    await load(svc, await fixture('busybox.tar'));
    const diffId = ((await svc.inspect('busybox')).RootFS as { Layers: string[] }).Layers[0] as string;
    const kept = join(dataRoot, 'image', 'vfs', 'layerdb', 'sha256', diffId.slice(7), 'layer.tar');
    const { open } = await import('node:fs/promises');
    const fh = await open(kept, 'r+');
    await fh.write(Buffer.from('X'), 0, 1, 5000);
    await fh.close();
    const stream = await svc.save({ names: ['busybox'] });
    await expect(collect(stream)).rejects.toThrow(/damaged/);
  });

  it('a layer stored without its tar (older tsdocker) cannot be saved, and a load repairs it', async () => {
    const { svc, dataRoot } = await openImages(await tempRoot());
    await load(svc, await fixture('busybox.tar'));
    const diffId = ((await svc.inspect('busybox')).RootFS as { Layers: string[] }).Layers[0] as string;
    const kept = join(dataRoot, 'image', 'vfs', 'layerdb', 'sha256', diffId.slice(7), 'layer.tar');
    const { rm } = await import('node:fs/promises');
    await rm(kept);
    await expect(svc.save({ names: ['busybox'] })).rejects.toThrow(/tar was not kept/);
    await load(svc, await fixture('busybox.tar'));
    expect(sha(await readFile(kept))).toBe(diffId);
    expect((await collect(await svc.save({ names: ['busybox'] }))).length).toBeGreaterThan(0);
  });
});
