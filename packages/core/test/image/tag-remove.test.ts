import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Digest,
  encodeImageConfig,
  type GraphImageService,
  type ImageUser,
  TsdockerError,
} from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { bodyOf, openImages, rootfsTar, useTempRoots } from './helpers.js';

const short = (id: string) => id.slice(7, 19);
const CONTAINER = 'c0ffee00'.repeat(8);

async function expectError(p: Promise<unknown>, kind: string, message: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${kind}: ${message}`).not.toBeNull();
  expect((err as Error).message).toBe(message);
  expect(TsdockerError.is(err, kind as never)).toBe(true);
}

/** A child image of `parent` with the same layers and one more (empty) history entry. */
async function commitChild(svc: GraphImageService, parent: string, createdBy: string): Promise<Digest> {
  const p = svc.images.get(parent as Digest);
  if (!p) throw new Error('no parent');
  const raw = encodeImageConfig({
    architecture: 'amd64',
    os: 'linux',
    created: new Date().toISOString(),
    config: { Cmd: ['child'] },
    parent,
    rootfs: p.config.rootfs,
    history: [
      ...(p.config.history ?? []),
      { created: new Date().toISOString(), created_by: createdBy, empty_layer: true },
    ],
  });
  return (await svc.images.create(raw, parent as Digest)).id;
}

describe('tag', () => {
  const tempRoot = useTempRoots();

  it('adds tags in familiar form, sorted by full name; moves an existing tag', async () => {
    const { svc, dataRoot } = await openImages(await tempRoot());
    const a = await svc.import({ source: bodyOf(await rootfsTar('a')), repo: 'busybox', changes: [] });
    const b = await svc.import({ source: bodyOf(await rootfsTar('b')), changes: [] });
    await svc.tag('busybox', 'docker.io/myrepo/bb', 'v1');
    await svc.tag(a.id, 'localhost:5000/x');
    await svc.tag(short(a.id), 'zzz', 'latest');
    expect((await svc.inspect(a.id)).RepoTags).toEqual([
      // by full name: docker.io/library/busybox, docker.io/library/zzz, docker.io/myrepo/bb, localhost:5000/x
      'busybox:latest',
      'zzz:latest',
      'myrepo/bb:v1',
      'localhost:5000/x:latest',
    ]);
    // docker tag always overwrites.
    await svc.tag(b.id, 'myrepo/bb:v1');
    expect((await svc.inspect('myrepo/bb:v1')).Id).toBe(b.id);
    const repos = JSON.parse(await readFile(join(dataRoot, 'image', 'vfs', 'repositories.json'), 'utf8'));
    expect(repos.Repositories).toEqual({
      busybox: { 'busybox:latest': a.id },
      'localhost:5000/x': { 'localhost:5000/x:latest': a.id },
      'myrepo/bb': { 'myrepo/bb:v1': b.id },
      zzz: { 'zzz:latest': a.id },
    });
  });

  it('refuses bad input and changes nothing', async () => {
    const { svc, dataRoot } = await openImages(await tempRoot());
    await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    const before = await readFile(join(dataRoot, 'image', 'vfs', 'repositories.json'), 'utf8');
    await expectError(svc.tag('nope', 'x'), 'not-found', 'No such image: nope:latest');
    await expectError(
      svc.tag('busybox', 'Bad'),
      'invalid-argument',
      'invalid reference format: repository name (library/Bad) must be lowercase',
    );
    await expectError(svc.tag('busybox', 'x', 'bad tag'), 'invalid-argument', 'invalid tag format');
    await expectError(
      svc.tag('busybox', ''),
      'invalid-argument',
      'repository name must have at least one component',
    );
    await expectError(
      svc.tag('busybox', 'sha256', 'abc'),
      'invalid-argument',
      'refusing to create an ambiguous tag using digest algorithm as name',
    );
    await expectError(
      svc.tag('busybox', `x@sha256:${'a'.repeat(64)}`),
      'invalid-argument',
      'cannot import digest reference',
    );
    expect(await readFile(join(dataRoot, 'image', 'vfs', 'repositories.json'), 'utf8')).toBe(before);
  });
});

describe('lookup', () => {
  const tempRoot = useTempRoots();

  it('finds by full id, bare hex, unique prefix, and name; says which image is missing', async () => {
    const { svc } = await openImages(await tempRoot());
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), repo: 'myrepo/bb:v1', changes: [] });
    for (const ref of [
      id,
      id.slice(7),
      id.slice(7, 10),
      id.slice(0, 12),
      'myrepo/bb:v1',
      'docker.io/myrepo/bb:v1',
    ]) {
      expect((await svc.resolveImage(ref)).id).toBe(id);
    }
    const record = await svc.resolveImage('myrepo/bb:v1');
    expect(record.topChainId).toBe((await svc.inspect(id)).RootFS && record.config.rootfs.diff_ids[0]);
    await expectError(svc.resolveImage('busybox'), 'not-found', 'No such image: busybox:latest');
    await expectError(svc.inspect('myrepo/bb'), 'not-found', 'No such image: myrepo/bb:latest');
    await expectError(
      svc.history(`sha256:${'f'.repeat(64)}`),
      'not-found',
      `No such image: sha256:${'f'.repeat(64)}`,
    );
    await expectError(
      svc.inspect('Busybox'),
      'invalid-argument',
      'invalid reference format: repository name (library/Busybox) must be lowercase',
    );
  });

  it('a name wins over an id prefix; an ambiguous prefix is not found', async () => {
    const { svc } = await openImages(await tempRoot());
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push((await svc.import({ source: bodyOf(await rootfsTar(`m${i}`)), changes: [] })).id);
    // With 40 ids some first hex digit repeats.
    const first = ids.map((id) => id[7] as string);
    const shared = first.find((c, i) => first.indexOf(c) !== i) as string;
    await expectError(svc.inspect(shared), 'not-found', `No such image: ${shared}:latest`);
    const target = ids[0] as string;
    await svc.tag(target, shared);
    expect((await svc.inspect(shared)).Id).toBe(target);
  });
});

describe('remove', () => {
  const tempRoot = useTempRoots();

  it('untags a reference and deletes the image with its last one, layers included', async () => {
    const { svc, driverLayers } = await openImages(await tempRoot());
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    await svc.tag(id, 'myrepo/bb:v1');
    const layer = ((await svc.inspect(id)).RootFS as { Layers: string[] }).Layers[0];
    expect(await svc.remove('myrepo/bb:v1')).toEqual([{ Untagged: 'myrepo/bb:v1' }]);
    expect(await svc.remove('busybox')).toEqual([
      { Untagged: 'busybox:latest' },
      { Deleted: id },
      { Deleted: layer },
    ]);
    expect(svc.count()).toBe(0);
    expect(await driverLayers()).toEqual([]);
    await expectError(svc.remove('busybox'), 'not-found', 'No such image: busybox:latest');
  });

  it('by id: refuses an image in several repositories unless forced', async () => {
    const { svc } = await openImages(await tempRoot());
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    await svc.tag(id, 'myrepo/bb:v1');
    await expectError(
      svc.remove(short(id)),
      'conflict',
      `conflict: unable to delete ${short(id)} (must be forced) - image is referenced in multiple repositories`,
    );
    const records = await svc.remove(short(id), { force: true });
    expect(records.slice(0, 3)).toEqual([
      { Untagged: 'busybox:latest' },
      { Untagged: 'myrepo/bb:v1' },
      { Deleted: id },
    ]);
  });

  it('by id with a single tag: the tag goes with the image', async () => {
    const { svc } = await openImages(await tempRoot());
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox:1', changes: [] });
    const records = await svc.remove(id);
    expect(records.slice(0, 2)).toEqual([{ Untagged: 'busybox:1' }, { Deleted: id }]);
  });

  it('refuses to untag the last name of an image a container uses, unless forced', async () => {
    let user: ImageUser | string | null = null;
    const { svc, driverLayers } = await openImages(await tempRoot(), { isImageInUse: () => user });
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    await svc.createRWLayer(CONTAINER, id, async () => {});
    user = { id: CONTAINER, running: false };
    await expectError(
      svc.remove('busybox'),
      'conflict',
      `conflict: unable to remove repository reference "busybox" (must force) - container ${CONTAINER.slice(0, 12)} is using its referenced image ${short(id)}`,
    );
    await expectError(
      svc.remove(id),
      'conflict',
      `conflict: unable to delete ${short(id)} (must be forced) - image is being used by stopped container ${CONTAINER.slice(0, 12)}`,
    );
    // A second tag makes untagging harmless.
    await svc.tag(id, 'other');
    expect(await svc.remove('busybox')).toEqual([{ Untagged: 'busybox:latest' }]);
    // Forced: the image goes, the container's layers stay until the container goes.
    const records = await svc.remove('other', { force: true });
    expect(records).toEqual([{ Untagged: 'other:latest' }, { Deleted: id }]);
    expect(await driverLayers()).toHaveLength(3);
    await svc.removeRWLayer(CONTAINER);
    expect(await driverLayers()).toEqual([]);
  });

  it('never deletes an image a running container uses; a forced untag keeps it', async () => {
    const { svc } = await openImages(await tempRoot(), {
      isImageInUse: () => ({ id: CONTAINER, running: true }),
    });
    const { id } = await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    await expectError(
      svc.remove(id, { force: true }),
      'conflict',
      `conflict: unable to delete ${short(id)} (cannot be forced) - image is being used by running container ${CONTAINER.slice(0, 12)}`,
    );
    expect(await svc.remove('busybox', { force: true })).toEqual([{ Untagged: 'busybox:latest' }]);
    expect((await svc.inspect(id)).RepoTags).toEqual([]);
  });

  it('child images: refuse the parent; removing the child prunes an untagged parent', async () => {
    const { svc } = await openImages(await tempRoot());
    const base = await svc.import({ source: bodyOf(await rootfsTar()), changes: [] });
    const child = await commitChild(svc, base.id, 'step 2');
    await svc.tag(child, 'app');
    await expectError(
      svc.remove(base.id, { force: true }),
      'conflict',
      `conflict: unable to delete ${short(base.id)} (cannot be forced) - image has dependent child images`,
    );
    // History walks the local parent chain.
    expect((await svc.history('app')).map((h) => [h.Id, h.CreatedBy, h.Tags])).toEqual([
      [child, 'step 2', ['app:latest']],
      [base.id, '', null],
    ]);
    const records = await svc.remove('app');
    expect(records.slice(0, 3)).toEqual([
      { Untagged: 'app:latest' },
      { Deleted: child },
      { Deleted: base.id },
    ]);
    expect(svc.count()).toBe(0);
  });

  it('noprune keeps the parent', async () => {
    const { svc } = await openImages(await tempRoot());
    const base = await svc.import({ source: bodyOf(await rootfsTar()), changes: [] });
    const child = await commitChild(svc, base.id, 'x');
    expect(await svc.remove(child, { noprune: true })).toEqual([{ Deleted: child }]);
    expect(svc.count()).toBe(1);
  });

  it('bad references are refused and change nothing', async () => {
    const { svc, dataRoot } = await openImages(await tempRoot());
    await svc.import({ source: bodyOf(await rootfsTar()), repo: 'busybox', changes: [] });
    const before = await readdir(join(dataRoot, 'image', 'vfs', 'imagedb', 'content', 'sha256'));
    await expectError(
      svc.remove('Busybox'),
      'invalid-argument',
      'invalid reference format: repository name (library/Busybox) must be lowercase',
    );
    await expectError(svc.remove(' '), 'invalid-argument', 'image name cannot be blank');
    expect(await readdir(join(dataRoot, 'image', 'vfs', 'imagedb', 'content', 'sha256'))).toEqual(before);
  });
});

describe('list', () => {
  const tempRoot = useTempRoots();

  it('filters: dangling, reference, label, before, since; newest first; intermediates with all', async () => {
    const { svc } = await openImages(await tempRoot());
    const a = await svc.import({
      source: bodyOf(await rootfsTar('a')),
      repo: 'busybox',
      changes: ['LABEL tier=base'],
    });
    const b = await svc.import({
      source: bodyOf(await rootfsTar('b')),
      repo: 'myrepo/bb:v1',
      changes: ['LABEL tier=app x=1'],
    });
    const c = await svc.import({ source: bodyOf(await rootfsTar('c')), changes: [] });
    const child = await commitChild(svc, c.id, 'x');
    await svc.tag(child, 'top');
    const ids = async (opts: { all?: boolean; filters?: Record<string, string[]> }) =>
      (await svc.list({ all: opts.all ?? false, filters: opts.filters ?? {} })).map((i) => i.Id);

    expect(await ids({})).toEqual([child, b.id, a.id]);
    expect(await ids({ all: true })).toEqual([child, c.id, b.id, a.id]);
    expect(await ids({ filters: { dangling: ['true'] } })).toEqual([]);
    await svc.remove('busybox');
    const d = await svc.import({ source: bodyOf(await rootfsTar('d')), changes: [] });
    expect(await ids({ filters: { dangling: ['true'] } })).toEqual([d.id]);
    expect(await ids({ filters: { dangling: ['false'] } })).toEqual([child, b.id]);
    expect(await ids({ filters: { reference: ['myrepo/*'] } })).toEqual([b.id]);
    expect(await ids({ filters: { reference: ['top'] } })).toEqual([child]);
    expect(await ids({ filters: { label: ['tier=app'] } })).toEqual([b.id]);
    expect(await ids({ filters: { label: ['tier', 'x=1'] } })).toEqual([b.id]);
    expect(await ids({ filters: { before: ['myrepo/bb:v1'] } })).toEqual([]);
    expect(await ids({ all: true, filters: { since: ['myrepo/bb:v1'] } })).toEqual([d.id, child, c.id]);
    // The reference filter also limits which tags are shown.
    await svc.tag(b.id, 'other:1');
    const [row] = await svc.list({ all: false, filters: { reference: ['other'] } });
    expect(row?.RepoTags).toEqual(['other:1']);
  });

  it('refuses unknown or malformed filters', async () => {
    const { svc } = await openImages(await tempRoot());
    await expectError(
      svc.list({ all: false, filters: { color: ['red'] } }),
      'invalid-argument',
      "invalid filter 'color'",
    );
    await expectError(
      svc.list({ all: false, filters: { dangling: ['maybe'] } }),
      'invalid-argument',
      "invalid filter 'dangling=maybe'",
    );
    await expectError(
      svc.list({ all: false, filters: { reference: ['a['] } }),
      'invalid-argument',
      'syntax error in pattern',
    );
    await expectError(
      svc.list({ all: false, filters: { before: ['nope'] } }),
      'not-found',
      'No such image: nope:latest',
    );
  });
});
