/**
 * Crafted archives for `docker load` (issue 3's Safety list and the load CVEs in
 * shared/design/compat-and-security.md): each is refused with a clear error, writes nothing
 * outside the data root, and leaves the stores exactly as they were (no image, layer, tag or
 * spool file left behind).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bodyOf, buildTar, gzip, listTree, openImages, type TarEntry, useTempRoots } from './helpers.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (d: string) => d.slice('sha256:'.length);

function configFor(diffIds: string[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      ...extra,
    }),
  );
}

/** A small valid layer: `./etc/hostname`. */
const goodLayer = (marker = 'x') =>
  buildTar([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/hostname', body: `${marker}\n` },
  ]);

interface DockerArchiveOptions {
  layers: Buffer[];
  /** Config bytes (default: a config listing the layers' sha256 as diff ids). */
  config?: Buffer;
  /** Replaces manifest.json (any JSON, or raw bytes). */
  manifest?: unknown;
  repoTags?: string[];
  /** Entries before / after the generated ones. */
  before?: TarEntry[];
  after?: TarEntry[];
}

/** A Docker 25+-style archive (manifest.json pointing into blobs/sha256). */
async function dockerArchive(o: DockerArchiveOptions): Promise<Buffer> {
  const config = o.config ?? configFor(o.layers.map((l) => sha(l)));
  const manifest =
    o.manifest !== undefined
      ? o.manifest
      : [
          {
            Config: `blobs/sha256/${hex(sha(config))}`,
            RepoTags: o.repoTags ?? ['crafted:1'],
            Layers: o.layers.map((l) => `blobs/sha256/${hex(sha(l))}`),
          },
        ];
  return buildTar([
    ...(o.before ?? []),
    { name: 'blobs/', type: 'directory', mode: 0o755 },
    { name: 'blobs/sha256/', type: 'directory', mode: 0o755 },
    { name: `blobs/sha256/${hex(sha(config))}`, body: config },
    ...o.layers.map((l) => ({ name: `blobs/sha256/${hex(sha(l))}`, body: l })),
    { name: 'manifest.json', body: Buffer.isBuffer(manifest) ? manifest : JSON.stringify(manifest) },
    ...(o.after ?? []),
  ]);
}

/** Everything a load may change, plus the directory outside the root an attack would aim at. */
async function snapshot(dataRoot: string, outside: string): Promise<Record<string, unknown>> {
  const base = join(dataRoot, 'image', 'vfs');
  return {
    imagedb: await listTree(join(base, 'imagedb')),
    layers: await listTree(join(base, 'layerdb', 'sha256')),
    mounts: await listTree(join(base, 'layerdb', 'mounts')),
    tmp: await listTree(join(base, 'layerdb', 'tmp')),
    driver: await listTree(join(dataRoot, 'vfs', 'dir')),
    refs: await readFile(join(base, 'repositories.json'), 'utf8'),
    outside: await listTree(outside),
    outsideSentinel: await readFile(join(outside, 'sentinel'), 'utf8'),
  };
}

describe('docker load refuses crafted archives', () => {
  const tempRoot = useTempRoots();

  /**
   * Opens a store that already holds an image tagged `crafted:1` (so a failed load can be seen
   * not to move or drop it) next to a directory `outside` the data root.
   */
  async function setup() {
    const dir = await tempRoot();
    const dataRoot = join(dir, 'data');
    const outside = join(dir, 'outside');
    await mkdir(dataRoot);
    await mkdir(outside);
    await writeFile(join(outside, 'sentinel'), 'untouched');
    const t = await openImages(dataRoot);
    await t.svc.load({ source: bodyOf(await dockerArchive({ layers: [await goodLayer('before')] })) });
    const before = await snapshot(dataRoot, outside);
    const expectRefused = async (archive: Buffer, message: string | RegExp) => {
      const attempt = t.svc.load({ source: bodyOf(archive, 700) });
      await expect(attempt).rejects.toThrow(message);
      await attempt.catch((err: unknown) => {
        // A bad archive is the client's fault; a few (disk) failures would be internal.
        expect((err as { kind?: string }).kind).toBe('invalid-argument');
      });
      expect(await snapshot(dataRoot, outside)).toEqual(before);
      expect((await t.svc.inspect('crafted:1')).Id).toBeDefined();
    };
    return { ...t, dataRoot, outside, expectRefused };
  }

  it('a crafted archive that is valid loads (the builder is right)', async () => {
    const { svc } = await setup();
    await svc.load({
      source: bodyOf(await dockerArchive({ layers: [await goodLayer('ok')], repoTags: ['ok:1'] })),
    });
    expect((await svc.inspect('ok:1')).RootFS).toBeDefined();
  });

  it('manifest paths that leave the archive: ../ and absolute', async () => {
    const { expectRefused } = await setup();
    const layer = await goodLayer('a');
    const config = configFor([sha(layer)]);
    await expectRefused(
      await dockerArchive({
        layers: [layer],
        config,
        manifest: [
          {
            Config: '../../outside/config.json',
            RepoTags: ['x:1'],
            Layers: [`blobs/sha256/${hex(sha(layer))}`],
          },
        ],
      }),
      'path "../../outside/config.json" is outside the archive',
    );
    await expectRefused(
      await dockerArchive({
        layers: [layer],
        config,
        manifest: [
          { Config: `blobs/sha256/${hex(sha(config))}`, RepoTags: ['x:1'], Layers: ['/etc/passwd'] },
        ],
      }),
      'path "/etc/passwd" is outside the archive',
    );
    await expectRefused(
      await dockerArchive({
        layers: [layer],
        config,
        manifest: [
          {
            Config: `blobs/sha256/${hex(sha(config))}`,
            RepoTags: ['x:1'],
            Layers: ['blobs/../../../../etc/shadow'],
          },
        ],
      }),
      /is outside the archive/,
    );
  });

  it('archive entries named with ../ or an absolute path', async () => {
    const { expectRefused } = await setup();
    const layer = await goodLayer('b');
    await expectRefused(
      await dockerArchive({ layers: [layer], before: [{ name: '../../outside/pwned', body: 'x' }] }),
      '".." in path "../../outside/pwned" is not allowed',
    );
    await expectRefused(
      await dockerArchive({ layers: [layer], before: [{ name: '/tmp/pwned-by-load', body: 'x' }] }),
      'absolute path "/tmp/pwned-by-load" is not allowed',
    );
    await expectRefused(
      await dockerArchive({
        layers: [layer],
        after: [{ name: 'escape-link', type: 'link', linkname: '../../outside/sentinel' }],
      }),
      '".." in path "../../outside/sentinel" is not allowed',
    );
  });

  it('a symlinked blobs directory (out of the archive, or with entries below it)', async () => {
    const { expectRefused } = await setup();
    const layer = await goodLayer('c');
    const config = configFor([sha(layer)]);
    const manifest = [
      {
        Config: `blobs/sha256/${hex(sha(config))}`,
        RepoTags: ['x:1'],
        Layers: [`blobs/sha256/${hex(sha(layer))}`],
      },
    ];
    const viaLink = (target: string) =>
      buildTar([
        { name: 'blobs', type: 'symlink', linkname: target },
        { name: 'manifest.json', body: JSON.stringify(manifest) },
      ]);
    await expectRefused(await viaLink('/'), 'points outside the archive (/)');
    await expectRefused(await viaLink('../../outside'), 'points outside the archive (../../outside)');
    // A link that stays inside, with the blobs written through it (a real untar would follow it).
    await expectRefused(
      await buildTar([
        { name: 'real/', type: 'directory' },
        { name: 'blobs', type: 'symlink', linkname: 'real' },
        { name: `blobs/sha256/${hex(sha(config))}`, body: config },
      ]),
      'is below the symlink "blobs"',
    );
  });

  it('oversized manifest.json and config are refused before they are parsed', async () => {
    const { expectRefused } = await setup();
    const layer = await goodLayer('d');
    const config = configFor([sha(layer)]);
    const manifest = [
      {
        Config: `blobs/sha256/${hex(sha(config))}`,
        RepoTags: ['x:1'],
        Layers: [`blobs/sha256/${hex(sha(layer))}`],
      },
    ];
    const padded = Buffer.concat([Buffer.from(JSON.stringify(manifest)), Buffer.alloc(4 * 1024 * 1024, ' ')]);
    await expectRefused(
      await dockerArchive({ layers: [layer], config, manifest: padded }),
      'manifest.json is larger than 4194304 bytes',
    );
    const bigConfig = configFor([sha(layer)], { comment: 'x'.repeat(4 * 1024 * 1024) });
    await expectRefused(
      await dockerArchive({ layers: [layer], config: bigConfig }),
      /is larger than 4194304 bytes/,
    );
  });

  it('a layer whose content is not the diff id the config names', async () => {
    const { expectRefused } = await setup();
    const layer = await goodLayer('e');
    const claimed = sha('something else');
    await expectRefused(
      await dockerArchive({ layers: [layer], config: configFor([claimed]) }),
      `invalid diffID for layer 0: expected "${claimed}", got "${sha(layer)}"`,
    );
    // The same with a gzip layer (the diff id is the uncompressed tar's).
    const zipped = gzip(layer);
    await expectRefused(
      await dockerArchive({ layers: [zipped], config: configFor([sha(zipped)]) }),
      `invalid diffID for layer 0: expected "${sha(zipped)}", got "${sha(layer)}"`,
    );
  });

  it('a truncated layer, and a layer cut short inside the archive', async () => {
    const { expectRefused } = await setup();
    const big = await buildTar([{ name: 'big.bin', body: Buffer.alloc(64 * 1024, 7) }]);
    const cut = big.subarray(0, 20_000);
    await expectRefused(
      await dockerArchive({ layers: [cut], config: configFor([sha(cut)]) }),
      /invalid layer archive|truncated/,
    );
    // The archive itself ends in the middle of a blob.
    const whole = await dockerArchive({ layers: [big] });
    await expectRefused(whole.subarray(0, 30_000), /truncated|Unexpected end/);
  });

  it('a layer with ../ entries, absolute entries, or writing through a symlink', async () => {
    const { expectRefused } = await setup();
    for (const [entries, message] of [
      [[{ name: '../../../outside/pwned', body: 'x' }], '".." in path'],
      [[{ name: '/outside-abs', body: 'x' }], 'absolute path'],
      [
        [
          { name: 'evil', type: 'symlink', linkname: '/tmp' },
          { name: 'evil/pwned', body: 'x' },
        ],
        'parent "evil" is a symlink',
      ],
    ] as Array<[TarEntry[], string]>) {
      const layer = await buildTar(entries);
      await expectRefused(await dockerArchive({ layers: [layer] }), message);
    }
  });

  it('a blob whose content does not match its name', async () => {
    const { expectRefused } = await setup();
    const layer = await goodLayer('f');
    const forged = `blobs/sha256/${hex(sha('not this'))}`;
    await expectRefused(
      await buildTar([{ name: forged, body: layer }]),
      `blob ${sha('not this')} does not match its content`,
    );
  });

  it('OCI layouts: a digest that would be a path, a digest that does not match, a wrong size', async () => {
    const { expectRefused } = await setup();
    const layer = await goodLayer('g');
    const config = configFor([sha(layer)]);
    const manifestDoc = (layerDigest: string, size = layer.length) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: sha(config),
            size: config.length,
          },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size }],
        }),
      );
    const oci = (manifest: Buffer, blobs: Array<[string, Buffer]>) =>
      buildTar([
        { name: 'oci-layout', body: '{"imageLayoutVersion": "1.0.0"}' },
        ...blobs.map(([name, body]) => ({ name, body })),
        { name: `blobs/sha256/${hex(sha(manifest))}`, body: manifest },
        {
          name: 'index.json',
          body: JSON.stringify({
            schemaVersion: 2,
            manifests: [
              {
                mediaType: 'application/vnd.oci.image.manifest.v1+json',
                digest: sha(manifest),
                size: manifest.length,
                annotations: { 'org.opencontainers.image.ref.name': 'oci:1' },
              },
            ],
          }),
        },
      ]);
    const configBlob: [string, Buffer] = [`blobs/sha256/${hex(sha(config))}`, config];
    await expectRefused(
      await oci(manifestDoc('sha256:../../../../etc/passwd'), [configBlob]),
      'invalid digest "sha256:../../../../etc/passwd"',
    );
    // A blob name that is only a hardlink to a file outside blobs/ (never verified).
    const aliased = await buildTar([
      { name: 'oci-layout', body: '{"imageLayoutVersion": "1.0.0"}' },
      { name: 'elsewhere', body: layer },
      { name: `blobs/sha256/${hex(sha(config))}`, body: config },
      { name: `blobs/sha256/${hex(sha('other'))}`, type: 'link', linkname: 'elsewhere' },
      { name: `blobs/sha256/${hex(sha(manifestDoc(sha('other'))))}`, body: manifestDoc(sha('other')) },
      {
        name: 'index.json',
        body: JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: sha(manifestDoc(sha('other'))),
              size: manifestDoc(sha('other')).length,
            },
          ],
        }),
      },
    ]);
    await expectRefused(aliased, `blob ${sha('other')} does not match its content`);
    await expectRefused(
      await oci(manifestDoc(sha(layer), 1), [configBlob, [`blobs/sha256/${hex(sha(layer))}`, layer]]),
      /the descriptor says 1/,
    );
  });

  it('layer counts that disagree with the config, nulls and garbage', async () => {
    const { expectRefused } = await setup();
    const layer = await goodLayer('h');
    await expectRefused(
      await dockerArchive({ layers: [layer], config: configFor([sha(layer), sha(layer)]) }),
      'invalid manifest, layers length mismatch: expected 1, got 2',
    );
    await expectRefused(
      await dockerArchive({ layers: [layer], manifest: null }),
      'invalid manifest, manifest cannot be null (but can be [])',
    );
    await expectRefused(
      await dockerArchive({ layers: [layer], manifest: Buffer.from('{nope') }),
      /manifest.json: invalid JSON/,
    );
    await expectRefused(
      Buffer.from('this is not a tar at all, but long enough to look at'),
      /invalid archive/,
    );
    await expectRefused(Buffer.alloc(0), /neither manifest.json/);
    await expectRefused(
      await dockerArchive({
        layers: [layer],
        after: [{ name: 'dev-node', type: 'character-device', devmajor: 1, devminor: 3 }],
      }),
      'has unsupported type character-device',
    );
    await expectRefused(
      await dockerArchive({ layers: [layer], repoTags: ['UPPER:case'] }),
      /must be lowercase/,
    );
    await expectRefused(
      await dockerArchive({ layers: [layer], config: configFor([sha(layer)], { os: 'windows' }) }),
      'cannot load windows image on linux',
    );
  });

  it('a failure in the second image of an archive keeps the first from being stored', async () => {
    const { expectRefused } = await setup();
    const one = await goodLayer('one');
    const two = await goodLayer('two');
    const c1 = configFor([sha(one)]);
    const c2 = configFor([sha('lie')]);
    const archive = await buildTar([
      { name: `blobs/sha256/${hex(sha(c1))}`, body: c1 },
      { name: `blobs/sha256/${hex(sha(c2))}`, body: c2 },
      { name: `blobs/sha256/${hex(sha(one))}`, body: one },
      { name: `blobs/sha256/${hex(sha(two))}`, body: two },
      {
        name: 'manifest.json',
        body: JSON.stringify([
          // Retags the existing crafted:1: that must not stick either.
          {
            Config: `blobs/sha256/${hex(sha(c1))}`,
            RepoTags: ['crafted:1'],
            Layers: [`blobs/sha256/${hex(sha(one))}`],
          },
          {
            Config: `blobs/sha256/${hex(sha(c2))}`,
            RepoTags: ['two:1'],
            Layers: [`blobs/sha256/${hex(sha(two))}`],
          },
        ]),
      },
    ]);
    await expectRefused(archive, `invalid diffID for layer 0: expected "${sha('lie')}", got "${sha(two)}"`);
  });

  it('nothing is left in the layer store scratch area after any of this', async () => {
    const { dataRoot, svc } = await setup();
    await svc
      .load({ source: bodyOf(Buffer.from('garbage garbage garbage garbage garbage')) })
      .catch(() => {});
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'layerdb', 'tmp'))).toEqual([]);
  });
});
