import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TsdockerError } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import {
  bodyOf,
  buildTar,
  FIXTURES,
  gzip,
  listTree,
  openImages,
  rootfsTar,
  useTempRoots,
} from './helpers.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The state an import must leave untouched when it fails. */
async function storeState(dataRoot: string): Promise<Record<string, unknown>> {
  const base = join(dataRoot, 'image', 'vfs');
  return {
    content: await listTree(join(base, 'imagedb')),
    layers: await listTree(join(base, 'layerdb')),
    driver: await listTree(join(dataRoot, 'vfs', 'dir')),
    refs: await readFile(join(base, 'repositories.json'), 'utf8'),
  };
}

describe('import', () => {
  const tempRoot = useTempRoots();

  it('imports a plain tar as a one-layer image, tagged from repo, laid out as Docker does', async () => {
    const { svc, dataRoot } = await openImages(await tempRoot());
    const tar = await rootfsTar();
    const progress: unknown[] = [];
    const { id } = await svc.import({
      source: bodyOf(tar),
      repo: 'myimp:1',
      changes: ['CMD ["sh"]', 'ENV A=1'],
      progress: (m) => progress.push(m),
    });
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(progress).toEqual([{ status: id }]);

    const base = join(dataRoot, 'image', 'vfs');
    const raw = await readFile(join(base, 'imagedb', 'content', 'sha256', id.slice(7)));
    expect(sha(raw)).toBe(id);
    const config = JSON.parse(raw.toString());
    expect(Object.keys(config)).toEqual([
      'architecture',
      'comment',
      'config',
      'container_config',
      'created',
      'history',
      'os',
      'rootfs',
    ]);
    expect(config.comment).toBe('Imported from -');
    expect(config.config).toMatchObject({ Cmd: ['sh'], Env: ['A=1'], Entrypoint: null, Image: '' });
    expect(config.history).toEqual([{ created: config.created, comment: 'Imported from -' }]);
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: [sha(tar)] });

    // layerdb: a base layer's chain id is its diff id.
    const layerDir = join(base, 'layerdb', 'sha256', sha(tar).slice(7));
    expect((await readdir(layerDir)).sort()).toEqual(['cache-id', 'diff', 'layer.tar', 'size']);
    expect(await readFile(join(layerDir, 'diff'), 'utf8')).toBe(sha(tar));
    // The exact tar is kept for docker save.
    expect(await readFile(join(layerDir, 'layer.tar'))).toEqual(tar);
    expect(await readFile(join(base, 'repositories.json'), 'utf8')).toBe(
      `{"Repositories":{"myimp":{"myimp:1":"${id}"}}}`,
    );
    expect(await readdir(join(base, 'imagedb', 'metadata', 'sha256', id.slice(7)))).toEqual(['lastUpdated']);
  });

  it('inspect, history and list shapes', async () => {
    const { svc } = await openImages(await tempRoot());
    const tar = await rootfsTar();
    const { id } = await svc.import({ source: bodyOf(tar), repo: 'myimp:1', changes: ['CMD ["sh"]'] });
    const inspect = await svc.inspect('myimp:1');
    expect(Object.keys(inspect)).toEqual([
      'Id',
      'RepoTags',
      'RepoDigests',
      'Parent',
      'Comment',
      'Created',
      'DockerVersion',
      'Author',
      'Config',
      'Architecture',
      'Os',
      'Size',
      'GraphDriver',
      'RootFS',
      'Metadata',
    ]);
    expect(inspect).toMatchObject({
      Id: id,
      RepoTags: ['myimp:1'],
      RepoDigests: [],
      Parent: '',
      Comment: 'Imported from -',
      DockerVersion: '',
      Author: '',
      Config: {
        User: '',
        Env: null,
        Cmd: ['sh'],
        Volumes: null,
        WorkingDir: '',
        Entrypoint: null,
        OnBuild: null,
        Labels: null,
      },
      Os: 'linux',
      GraphDriver: { Data: null, Name: 'vfs' },
      RootFS: { Type: 'layers', Layers: [sha(tar)] },
    });
    expect(inspect.Created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    expect((inspect.Metadata as { LastTagTime: string }).LastTagTime).not.toBe('0001-01-01T00:00:00Z');
    expect(inspect.Size).toBeGreaterThan(0);

    const history = await svc.history('myimp:1');
    expect(history).toEqual([
      {
        Id: id,
        Created: Math.floor(Date.parse(inspect.Created as string) / 1000),
        CreatedBy: '',
        Tags: ['myimp:1'],
        Size: inspect.Size,
        Comment: 'Imported from -',
      },
    ]);

    const list = await svc.list({ all: false, filters: {} });
    expect(list).toEqual([
      {
        Id: id,
        ParentId: '',
        RepoTags: ['myimp:1'],
        RepoDigests: [],
        Created: history[0]?.Created,
        Size: inspect.Size,
        SharedSize: -1,
        Labels: null,
        Containers: -1,
      },
    ]);
  });

  it('gzip and plain give the same diff id; identical layers are stored once', async () => {
    const { svc, dataRoot, driverLayers } = await openImages(await tempRoot());
    const tar = await rootfsTar();
    const a = await svc.import({ source: bodyOf(tar), repo: 'plain', changes: [] });
    const b = await svc.import({ source: bodyOf(gzip(tar)), repo: 'gz', changes: [], message: 'from gzip' });
    const ia = await svc.inspect(a.id);
    const ib = await svc.inspect(b.id);
    expect(ia.RootFS).toEqual(ib.RootFS);
    expect(ib.Comment).toBe('from gzip');
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'sha256'))).toHaveLength(1);
    expect(await driverLayers()).toHaveLength(1);
  });

  it('concurrent imports of the same content share one layer', async () => {
    const { svc, dataRoot, driverLayers } = await openImages(await tempRoot());
    const tar = await rootfsTar();
    const [a, b] = await Promise.all([
      svc.import({ source: bodyOf(tar, 100), repo: 'a', changes: [] }),
      svc.import({ source: bodyOf(tar, 100), repo: 'b', changes: [] }),
    ]);
    // Creation times differ, so the configs and ids do; the layer is the same.
    expect(a.id).not.toBe(b.id);
    expect(svc.count()).toBe(2);
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'sha256'))).toHaveLength(1);
    expect(await driverLayers()).toHaveLength(1);
    await svc.remove('a');
    expect(await driverLayers()).toHaveLength(1);
    await svc.remove('b');
    expect(await driverLayers()).toEqual([]);
  });

  it('the image id is the digest of the config bytes: storing the same bytes again is a no-op', async () => {
    const { svc } = await openImages(await tempRoot());
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), changes: [] });
    const raw = (svc.images.get(id as never) as { raw: Buffer }).raw;
    expect(await svc.images.create(Buffer.from(raw))).toEqual({ id, created: false });
    expect(svc.count()).toBe(1);
  });

  it('reproduces Docker’s config for the fixture busybox import (same layer, same bytes)', async () => {
    const { svc } = await openImages(await tempRoot(), { engineVersion: '20.10.24+dfsg1' });
    const layer = execFileSync(
      'tar',
      [
        '-xOf',
        join(FIXTURES, 'busybox.tar'),
        '07d3a66c92ca981de89a7553f789099ff9aecbda084ab4df9e27ebf42b5ed296/layer.tar',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const { id } = await svc.import({
      source: bodyOf(layer, 65536),
      repo: 'busybox',
      changes: ['CMD ["sh"]'],
    });
    const inspect = await svc.inspect('busybox');
    expect(inspect.RootFS).toEqual({
      Type: 'layers',
      Layers: ['sha256:23a33b7b8d37879986b4689a6e2df3c5a21605ed0b234b277324bb3067419feb'],
    });
    // Only the creation time differs from what dockerd wrote.
    const ours = (svc.images.get(id as never) as { raw: Buffer }).raw.toString();
    const theirs = execFileSync('tar', [
      '-xOf',
      join(FIXTURES, 'busybox.tar'),
      '0a27d1de91d69b413197988674e20e150340c514c7588f89369a765f8863ac52.json',
    ]).toString();
    const created = JSON.parse(ours).created as string;
    expect(ours.replaceAll(created, '2026-11-27T19:30:06.863752022Z')).toBe(theirs);
    // The layer really is the busybox rootfs.
    await svc.createRWLayer('a'.repeat(64), id, async () => {});
    const root = await svc.mountRWLayer('a'.repeat(64));
    // `tar -t` of the layer lists 77 entries directly under ./bin, busybox itself 1,982,256 bytes.
    expect(await readdir(join(root, 'bin'))).toHaveLength(77);
    expect((await stat(join(root, 'bin', 'busybox'))).size).toBe(1_982_256);
    await svc.unmountRWLayer('a'.repeat(64));
  });

  describe('a failed import leaves nothing behind', () => {
    const failures: Array<[name: string, body: () => Promise<Buffer>, error: RegExp]> = [
      [
        'a truncated tar',
        async () => {
          const tar = await buildTar([{ name: 'big', body: Buffer.alloc(100_000, 1) }]);
          return tar.subarray(0, 50_000);
        },
        /^layer entry "big": the archive is truncated or corrupt inside this entry$/,
      ],
      ['a path escaping the root', () => buildTar([{ name: '../evil', body: 'x' }]), /"\.\." in path/],
      [
        'a symlink then a write through it',
        () =>
          buildTar([
            { name: 'link', type: 'symlink', linkname: '/tmp' },
            { name: 'link/evil', body: 'x' },
          ]),
        /link/,
      ],
      [
        'corrupt gzip',
        async () => gzip(await rootfsTar()).subarray(0, 60),
        /^invalid layer archive: unexpected end of file$/,
      ],
      [
        'not a tar',
        async () => Buffer.from('not a tar '.repeat(100)),
        /^invalid layer archive: Invalid tar header/,
      ],
    ];
    it.each(failures)('%s', async (_name, body, error) => {
      const { svc, dataRoot } = await openImages(await tempRoot());
      const keep = await svc.import({ source: bodyOf(await rootfsTar('keep')), repo: 'keep', changes: [] });
      const before = await storeState(dataRoot);
      await expect(svc.import({ source: bodyOf(await body()), repo: 'bad:1', changes: [] })).rejects.toThrow(
        error,
      );
      expect(await storeState(dataRoot)).toEqual(before);
      expect(await listTree(join(dataRoot, 'image', 'vfs', 'layerdb', 'tmp'))).toEqual([]);
      expect((await svc.list({ all: true, filters: {} })).map((i) => i.Id)).toEqual([keep.id]);
      await expect(svc.inspect('bad:1')).rejects.toThrow('No such image: bad:1');
    });

    it('bad parameters are refused before the body is read', async () => {
      const { svc, dataRoot } = await openImages(await tempRoot());
      const before = await storeState(dataRoot);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ changes: ['RUN rm -rf /'] }, 'run is not a valid change command'],
        [
          { changes: [], repo: 'Bad' },
          'invalid reference format: repository name (library/Bad) must be lowercase',
        ],
        [{ changes: [], repo: 'x', tag: 'bad tag' }, 'invalid tag format'],
        [
          { changes: [], repo: 'sha256:abc' },
          'refusing to create an ambiguous tag using digest algorithm as name',
        ],
        [
          { changes: [], platform: 'windows/amd64' },
          'image operating system "windows" cannot be used on this platform',
        ],
        [
          { changes: [], platform: 'nonsense' },
          '"nonsense": unknown operating system or architecture: invalid argument',
        ],
      ];
      for (const [params, message] of cases) {
        const source = bodyOf(await rootfsTar());
        const err = await svc.import({ source, ...params } as never).catch((e: unknown) => e);
        expect(TsdockerError.is(err, 'invalid-argument'), message).toBe(true);
        expect((err as Error).message).toBe(message);
        expect(source.readableEnded).toBe(false);
        expect(source.destroyed).toBe(false);
      }
      expect(await storeState(dataRoot)).toEqual(before);
    });

    it('a source that fails mid-stream is not destroyed by the import', async () => {
      const { svc, dataRoot } = await openImages(await tempRoot());
      const before = await storeState(dataRoot);
      const tar = await rootfsTar();
      const source = new Readable({ read() {} });
      source.push(tar.subarray(0, 1024));
      setTimeout(() => source.destroy(new Error('client went away')), 20);
      await expect(svc.import({ source, changes: [] })).rejects.toThrow('client went away');
      expect(await storeState(dataRoot)).toEqual(before);
    });
  });

  it('imports with a platform and records it', async () => {
    const { svc } = await openImages(await tempRoot());
    const { id } = await svc.import({
      source: bodyOf(await rootfsTar()),
      changes: [],
      platform: 'linux/arm64',
    });
    expect(await svc.inspect(id)).toMatchObject({ Architecture: 'arm64', Os: 'linux' });
    const armv7 = await svc.import({
      source: bodyOf(await rootfsTar('7')),
      changes: [],
      platform: 'linux/arm/v7',
    });
    expect(await svc.inspect(armv7.id)).toMatchObject({ Architecture: 'arm', Variant: 'v7' });
  });

  it('leaves no temp files after a successful import', async () => {
    const root = await tempRoot();
    const { svc } = await openImages(root);
    await svc.import({ source: bodyOf(await rootfsTar()), repo: 'x', changes: [] });
    const files = await listTree(join(root, 'image'));
    expect(files.filter((f) => f.split('/').some((p) => p.startsWith('.tmp-')))).toEqual([]);
  });
});
