/**
 * `docker diff`, `export`, `commit` and `cp` on the real vfs driver and image store, with the
 * scripted exec driver (it freezes nothing, but says when it was asked to).
 */
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainerFiles } from '../../src/container/container-archive.js';
import { Containers } from '../../src/container/container-service.js';
import { TsdockerError } from '../../src/errors.js';
import type { PathStat } from '../../src/services.js';
import { buildTar, collect, listTar } from '../archive/helpers.js';
import { bodyOf, openImages, type TestDaemon } from '../image/helpers.js';
import { FakeExecDriver } from './fake-drivers.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;

/** Records freezes; `frozen` says whether a container is frozen right now. */
class FreezingExecDriver extends FakeExecDriver {
  readonly calls: string[] = [];
  readonly frozen = new Set<string>();
  async pause(id: string): Promise<void> {
    this.calls.push(`pause ${id.slice(0, 6)}`);
    this.frozen.add(id);
  }
  async resume(id: string): Promise<void> {
    this.calls.push(`resume ${id.slice(0, 6)}`);
    this.frozen.delete(id);
  }
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n';

/** The base image: a tiny rootfs with a user, symlinks pointing up and out, and a hardlink. */
function baseImageTar(): Promise<Buffer> {
  return buildTar([
    { name: './', type: 'directory', mode: 0o755 },
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/sh', body: '#!/bin/true\n', mode: 0o755 },
    { name: 'bin/rm', body: 'rm\n', mode: 0o755 },
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/hostname', body: 'image\n', mode: 0o644 },
    { name: 'etc/passwd', body: PASSWD },
    { name: 'etc/group', body: 'root:x:0:\napp:x:1001:\n' },
    { name: 'etc/setuid', body: 'x', mode: 0o4755 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'tmp/link', type: 'symlink', linkname: '/etc' },
    { name: 'escape', type: 'symlink', linkname: '/' },
    { name: 'up', type: 'symlink', linkname: '../../../../..' },
  ]);
}

let dir = '';
let images: TestDaemon;
let exec: FreezingExecDriver;
let containers: Containers;
let files: ContainerFiles;
let baseId = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsd-cfs-'));
  images = await openImages(join(dir, 'data'));
  ({ id: baseId } = await images.svc.import({
    source: bodyOf(await baseImageTar()),
    repo: 'base',
    changes: ['CMD ["sh"]', 'ENV A=1'],
  }));
  exec = new FreezingExecDriver();
  containers = new Containers({
    containersDir: join(dir, 'data', 'containers'),
    images: images.svc,
    execDriver: exec,
    graphDriverName: 'vfs',
    logger: silent,
  });
  await containers.restore();
  files = new ContainerFiles({
    store: containers.store,
    images: images.svc,
    execDriver: exec,
    logger: silent,
    engineVersion: '9.9.9',
  });
});

afterEach(async () => {
  for (const e of containers?.store.all() ?? [])
    await containers.remove(e.id, { force: true }).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

async function create(body: Record<string, unknown> = {}): Promise<string> {
  return (await containers.create({ body: { Image: 'base', ...body } })).Id;
}

/** Runs `change` on the container's mounted rootfs, as a process in it would. */
async function inRootfs<T>(id: string, change: (root: string) => Promise<T>): Promise<T> {
  const root = await images.svc.mountRWLayer(id);
  try {
    return await change(root);
  } finally {
    await images.svc.unmountRWLayer(id);
  }
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (TsdockerError.is(e) ? `${e.kind}: ${e.message}` : `untyped: ${String(e)}`),
  );
}

const names = async (tar: Readable) => (await listTar(await collect(tar))).map((h) => h.name);

/** Every path below `root` (never through a symlink) with mode, size and mtime: a tree's fingerprint. */
async function fingerprint(root: string, skip: string[] = []): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (skip.includes(child)) continue;
      const st = await lstat(join(root, child));
      out.push(`${child} ${st.mode.toString(8)} ${st.isDirectory() ? '-' : st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) await walk(child);
    }
  }
  await walk('');
  return out;
}

describe('docker diff', () => {
  it('lists added, changed and deleted paths against the image, without the init layer', async () => {
    const id = await create();
    expect(await files.changes(id)).toEqual([]);
    await inRootfs(id, async (root) => {
      await writeFile(join(root, 'new'), 'new\n');
      await writeFile(join(root, 'etc/hostname'), 'changed!\n');
      await unlink(join(root, 'bin/rm'));
    });
    expect(await files.changes(id)).toEqual([
      { Path: '/bin', Kind: 0 },
      { Path: '/bin/rm', Kind: 2 },
      { Path: '/etc', Kind: 0 },
      { Path: '/etc/hostname', Kind: 0 },
      { Path: '/new', Kind: 1 },
    ]);
    expect(exec.calls).toEqual([]); // a stopped container is not frozen
  });

  it('is a 404 for an unknown container', async () => {
    expect(await errorOf(files.changes('nosuch'))).toBe('not-found: No such container: nosuch');
  });
});

describe('docker commit', () => {
  it('makes an image whose top layer is the container’s diff, with moby’s config and history', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'echo hi'], ExposedPorts: { '80/tcp': {} } });
    await inRootfs(id, async (root) => {
      await writeFile(join(root, 'x'), 'committed\n');
      await writeFile(join(root, 'etc/hostname'), 'changed!\n');
      await unlink(join(root, 'bin/rm'));
    });
    const { Id } = await files.commit({
      container: id,
      repo: 'docker.io/library/committed',
      tag: 'v2',
      author: 'me <me@example.com>',
      comment: 'a message',
      changes: ['CMD ["cat","/x"]'],
      pause: true,
    });
    expect(Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await images.svc.resolveImage('committed:v2')).id).toBe(Id);

    const inspect = await images.svc.inspect(Id);
    expect(inspect).toMatchObject({
      Parent: baseId,
      Author: 'me <me@example.com>',
      Comment: 'a message',
      Config: { Cmd: ['cat', '/x'], Env: ['A=1'], ExposedPorts: { '80/tcp': {} } },
      RootFS: { Type: 'layers' },
    });
    expect((inspect.RootFS as { Layers: string[] }).Layers).toHaveLength(2);
    const raw = JSON.parse(images.svc.lookup(Id).raw.toString()) as Record<string, unknown>;
    expect(raw).toMatchObject({
      container: id,
      docker_version: '9.9.9',
      author: 'me <me@example.com>',
      container_config: { Cmd: ['sh', '-c', 'echo hi'], Image: 'base' },
      config: { Cmd: ['cat', '/x'], Image: 'base', Hostname: id.slice(0, 12) },
    });
    expect(raw.comment).toBeUndefined(); // moby keeps the message in the history only
    const history = await images.svc.history(Id);
    expect(history[0]).toMatchObject({
      CreatedBy: 'sh -c echo hi',
      Comment: 'a message',
      Tags: ['committed:v2'],
    });

    // A container of the new image sees the changes; the first one is untouched by the commit.
    const child = await containers.create({ body: { Image: 'committed:v2' } });
    await inRootfs(child.Id, async (root) => {
      expect(await readFile(join(root, 'x'), 'utf8')).toBe('committed\n');
      expect(await readFile(join(root, 'etc/hostname'), 'utf8')).toBe('changed!\n');
      await expect(lstat(join(root, 'bin/rm'))).rejects.toThrow();
      expect((await lstat(join(root, 'etc/setuid'))).mode & 0o7777).toBe(0o4755);
    });
    expect((await containers.inspect(child.Id)).Path).toBe('cat');
    expect(await files.changes(id)).toHaveLength(5);
  });

  it('adds no layer when nothing changed, and marks the history entry empty', async () => {
    const id = await create();
    const { Id } = await files.commit({ container: id, changes: [], pause: true });
    const raw = JSON.parse(images.svc.lookup(Id).raw.toString()) as {
      rootfs: { diff_ids: string[] };
      history: Array<{ empty_layer?: boolean }>;
    };
    const base = JSON.parse(images.svc.lookup(baseId).raw.toString()) as { rootfs: { diff_ids: string[] } };
    expect(raw.rootfs.diff_ids).toEqual(base.rootfs.diff_ids);
    expect(raw.history.at(-1)?.empty_layer).toBe(true);
    // The empty layer registered on the way is gone again.
    expect(await images.driverLayers()).toHaveLength(1 + 2);
  });

  it('takes a config from the body, completed from the container’s', async () => {
    const id = await create({ Env: ['B=2'], WorkingDir: '/tmp' });
    const { Id } = await files.commit({
      container: id,
      changes: ['ENV C=3'],
      pause: false,
      config: { Cmd: ['true'], Labels: { a: 'b' } },
    });
    expect((await images.svc.inspect(Id)).Config).toMatchObject({
      Cmd: ['true'],
      Env: ['C=3', 'A=1', 'B=2'],
      WorkingDir: '/tmp',
      Labels: { a: 'b' },
    });
    // dockerode's body (its query options again) sets no config field: the container's stands.
    const { Id: second } = await files.commit({
      container: id,
      changes: [],
      pause: true,
      config: { container: id, repo: 'x' },
    });
    expect((await images.svc.inspect(second)).Config).toMatchObject({ Cmd: ['sh'], Env: ['A=1', 'B=2'] });
  });

  it('checks the request before touching anything', async () => {
    const id = await create();
    const before = await images.driverLayers();
    const cases: Array<[Parameters<ContainerFiles['commit']>[0], string]> = [
      [{ container: 'nosuch', changes: [], pause: true }, 'not-found: No such container: nosuch'],
      [{ container: id, repo: 'UPPER', changes: [], pause: true }, 'invalid-argument'],
      [
        { container: id, changes: ['RUN true'], pause: true },
        'invalid-argument: run is not a valid change command',
      ],
      [
        { container: id, changes: [], pause: true, config: { Cmd: 3 } },
        'invalid-argument: invalid value for Cmd',
      ],
      [{ container: id, repo: 'sha256', changes: [], pause: true }, 'invalid-argument: refusing'],
    ];
    for (const [opts, expected] of cases) expect(await errorOf(files.commit(opts))).toContain(expected);
    expect(await images.driverLayers()).toEqual(before);
    expect(images.svc.count()).toBe(1);
  });

  it('freezes a running container unless told not to, and never thaws one the user paused', async () => {
    const id = await create({ Cmd: ['sleep'] });
    await containers.start(id);
    await files.commit({ container: id, changes: [], pause: true });
    expect(exec.calls).toEqual([`pause ${id.slice(0, 6)}`, `resume ${id.slice(0, 6)}`]);
    exec.calls.length = 0;
    await files.commit({ container: id, changes: [], pause: false });
    expect(exec.calls).toEqual([]);
    await containers.pause(id);
    exec.calls.length = 0;
    await files.commit({ container: id, changes: [], pause: true });
    await files.statPath(id, '/etc');
    expect(exec.calls).toEqual([]);
    expect(exec.frozen.has(id)).toBe(true);
    await containers.unpause(id);
    await containers.kill(id);
  });
});

describe('docker export', () => {
  it('streams the whole filesystem of a stopped container, init files and changes included', async () => {
    const id = await create();
    await inRootfs(id, async (root) => {
      await writeFile(join(root, 'new'), 'n');
      await unlink(join(root, 'bin/rm'));
    });
    const list = await names(await files.export(id));
    expect(list).toEqual(
      expect.arrayContaining(['bin/', 'bin/sh', 'etc/passwd', 'new', '.dockerenv', 'etc/hosts']),
    );
    expect(list).not.toContain('bin/rm');
    expect(list.some((n) => n.startsWith('/') || n.startsWith('./'))).toBe(false);
  });

  it('holds the container until the stream is over, also when it is abandoned', async () => {
    const id = await create({ Cmd: ['sleep'] });
    // Bigger than every buffer on the way: the walk cannot finish before the reader reads.
    await inRootfs(id, (root) => writeFile(join(root, 'big'), Buffer.alloc(4 * 1024 * 1024)));
    await containers.start(id);
    const tar = await files.export(id);
    expect(exec.frozen.has(id)).toBe(true);
    let stopped = false;
    const stopping = containers.stop(id, { timeout: 0 }).then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false); // waits for the export to let go of the container
    tar.destroy();
    await stopping;
    expect(exec.frozen.has(id)).toBe(false);
  });
});

describe('docker cp: stat (HEAD)', () => {
  it('answers moby’s stat with Go file modes, resolving links inside the container', async () => {
    const id = await create();
    const file = await files.statPath(id, '/etc/passwd');
    expect(file).toMatchObject({ name: 'passwd', size: PASSWD.length, mode: 0o644, linkTarget: '' });
    // The init layer makes Docker's mount points 0755, as moby's does.
    expect(await files.statPath(id, '/etc/hostname')).toMatchObject({ size: 6, mode: 0o755 });
    expect(file.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect((await files.statPath(id, '/etc/setuid')).mode).toBe(0o755 + 2 ** 23);
    expect((await files.statPath(id, '/tmp')).mode).toBe(GO_DIR + 2 ** 20 + 0o777);
    expect(await files.statPath(id, '/tmp/link')).toMatchObject({
      name: 'link',
      mode: GO_SYMLINK + 0o777,
      linkTarget: '/etc',
    });
    expect(await files.statPath(id, '/escape')).toMatchObject({ linkTarget: '/' });
    expect(await files.statPath(id, '/up')).toMatchObject({ linkTarget: '/' });
    // A trailing slash follows the link: the directory it leads to, under the asked name.
    const followed = await files.statPath(id, '/tmp/link/');
    expect(followed.name).toBe('link');
    expect(followed.mode).toBe(GO_DIR + 0o755);
    // Links in the middle are resolved inside the container, never on the host.
    expect((await files.statPath(id, '/escape/etc/hostname')).size).toBe(6);
    expect((await files.statPath(id, '/up/etc/passwd')).name).toBe('passwd');
  });

  it('is a 404 naming the path and the container for what is not there', async () => {
    const id = await create();
    for (const path of ['/nosuch', '/etc/hostname/x', '/etc/hostname/', '/tmp/link/nosuch']) {
      expect(await errorOf(files.statPath(id, path))).toBe(
        `not-found: Could not find the file ${path} in container ${id}`,
      );
    }
    expect(await errorOf(files.statPath(id, ''))).toBe(
      'invalid-argument: bad parameter: pathcannot be empty',
    );
  });

  it('reports the container’s own hostname, hosts and resolv.conf once it has them', async () => {
    const id = await create({ Cmd: ['sleep'] });
    expect((await files.statPath(id, '/etc/hostname')).size).toBe(6);
    await containers.start(id);
    expect((await files.statPath(id, '/etc/hostname')).size).toBe(13);
    const tar = await collect((await files.getArchive(id, '/etc/hostname')).archive);
    expect((await listTar(tar)).map((h) => h.name)).toEqual(['hostname']);
    expect(tar.toString('latin1')).toContain(`${id.slice(0, 12)}\n`);
    await containers.kill(id);
  });
});

describe('docker cp: out of a container (GET)', () => {
  it('archives files and directories under their base name', async () => {
    const id = await create();
    const file = await files.getArchive(id, '/etc/hostname');
    expect(file.stat.name).toBe('hostname');
    expect(await names(file.archive)).toEqual(['hostname']);
    expect(await names((await files.getArchive(id, '/etc')).archive)).toEqual([
      'etc/',
      'etc/group',
      'etc/hostname',
      'etc/hosts',
      'etc/mtab',
      'etc/passwd',
      'etc/resolv.conf',
      'etc/setuid',
    ]);
    // A link is archived as the link; through a trailing slash, as the directory it leads to.
    const link = await listTar(await collect((await files.getArchive(id, '/tmp/link')).archive));
    expect(link.map((h) => [h.name, h.type, h.linkname])).toEqual([['link', 'symlink', '/etc']]);
    expect((await names((await files.getArchive(id, '/tmp/link/')).archive)).slice(0, 2)).toEqual([
      'link/',
      'link/group',
    ]);
    expect(await names((await files.getArchive(id, '/escape/bin')).archive)).toEqual([
      'bin/',
      'bin/rm',
      'bin/sh',
    ]);
  });

  it('names the root `/…` and a directory’s contents `./…`, as the CLI expects', async () => {
    const id = await create();
    const root = await names((await files.getArchive(id, '/')).archive);
    expect(root.slice(0, 4)).toEqual(['/', '/.dockerenv', '/bin/', '/bin/rm']);
    expect(await names((await files.getArchive(id, '/bin/.')).archive)).toEqual(['./', './rm', './sh']);
  });

  it('stays inside the container when a link points out of it', async () => {
    const id = await create();
    // `/up` is `../../../../..`: in the container that is `/`, never the host's root.
    const list = await names((await files.getArchive(id, '/up/etc/passwd')).archive);
    expect(list).toEqual(['passwd']);
    const content = await collect((await files.getArchive(id, '/up/etc/passwd')).archive);
    expect(content.toString('latin1')).toContain('app:x:1000');
  });
});

describe('docker cp: into a container (PUT)', () => {
  const upload = async (entries: Parameters<typeof buildTar>[0]) => Readable.from([await buildTar(entries)]);
  const opts = { noOverwriteDirNonDir: true, copyUIDGID: false };

  it('extracts into an existing directory, owners as in the archive', async () => {
    const id = await create();
    await files.putArchive(
      id,
      '/tmp/',
      await upload([
        { name: 'up.txt', body: 'hello', uid: 1234, gid: 4321, mode: 0o640 },
        { name: 'dirsrc/', type: 'directory', mode: 0o750 },
        { name: 'dirsrc/sub/', type: 'directory' },
        { name: 'dirsrc/sub/f', body: 'f' },
      ]),
      opts,
    );
    await inRootfs(id, async (root) => {
      expect(await readFile(join(root, 'tmp/up.txt'), 'utf8')).toBe('hello');
      const st = await stat(join(root, 'tmp/up.txt'));
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1234, 4321, 0o640]);
      expect(await readFile(join(root, 'tmp/dirsrc/sub/f'), 'utf8')).toBe('f');
    });
    expect(await files.changes(id)).toEqual(
      expect.arrayContaining([
        { Path: '/tmp/up.txt', Kind: 1 },
        { Path: '/tmp/dirsrc/sub/f', Kind: 1 },
      ]),
    );
  });

  it('follows links to the destination inside the container', async () => {
    const id = await create();
    await files.putArchive(id, '/tmp/link/', await upload([{ name: 'via-link', body: 'a' }]), opts);
    await files.putArchive(id, '/escape', await upload([{ name: 'x', body: 'b' }]), opts);
    await files.putArchive(id, '/up', await upload([{ name: 'y', body: 'c' }]), opts);
    await inRootfs(id, async (root) => {
      expect(await readFile(join(root, 'etc/via-link'), 'utf8')).toBe('a');
      expect(await readFile(join(root, 'x'), 'utf8')).toBe('b');
      expect(await readFile(join(root, 'y'), 'utf8')).toBe('c');
    });
  });

  it('gives everything the container user’s owner with copyUIDGID', async () => {
    const id = await create({ User: 'app' });
    await files.putArchive(id, '/tmp', await upload([{ name: 'owned', body: 'o', uid: 7, gid: 7 }]), {
      noOverwriteDirNonDir: true,
      copyUIDGID: true,
    });
    await inRootfs(id, async (root) => {
      const st = await stat(join(root, 'tmp/owned'));
      expect([st.uid, st.gid]).toEqual([1000, 1001]);
    });
  });

  it('refuses to swap a directory and a non-directory with noOverwriteDirNonDir', async () => {
    const id = await create();
    expect(await errorOf(files.putArchive(id, '/', await upload([{ name: 'etc', body: 'x' }]), opts))).toBe(
      'invalid-argument: cannot overwrite directory "/etc" with non-directory "/"',
    );
    expect(
      await errorOf(
        files.putArchive(id, '/etc', await upload([{ name: 'hostname/', type: 'directory' }]), opts),
      ),
    ).toBe('invalid-argument: cannot overwrite non-directory "/etc/hostname" with directory "/etc"');
    // An entry the same archive wrote earlier counts too.
    expect(
      await errorOf(
        files.putArchive(
          id,
          '/tmp',
          await upload([
            { name: 'n', body: 'x' },
            { name: 'n/', type: 'directory' },
          ]),
          opts,
        ),
      ),
    ).toBe('invalid-argument: cannot overwrite non-directory "/tmp/n" with directory "/tmp"');
    await inRootfs(id, async (root) => {
      expect((await lstat(join(root, 'etc'))).isDirectory()).toBe(true);
      expect((await lstat(join(root, 'etc/hostname'))).isFile()).toBe(true);
    });
    // Without the flag a file replaces a directory, as Docker's does.
    await files.putArchive(id, '/tmp', await upload([{ name: 'd/', type: 'directory' }]), opts);
    await files.putArchive(id, '/tmp', await upload([{ name: 'd', body: 'now a file' }]), {
      noOverwriteDirNonDir: false,
      copyUIDGID: false,
    });
    await inRootfs(id, async (root) =>
      expect(await readFile(join(root, 'tmp/d'), 'utf8')).toBe('now a file'),
    );
  });

  it('answers Docker’s errors for a missing, non-directory or read-only destination', async () => {
    const id = await create();
    const ro = await create({ HostConfig: { ReadonlyRootfs: true } });
    expect(await errorOf(files.putArchive(id, '/nosuch', await upload([]), opts))).toBe(
      `not-found: Could not find the file /nosuch in container ${id}`,
    );
    expect(await errorOf(files.putArchive(id, '/etc/hostname', await upload([]), opts))).toBe(
      'invalid-argument: extraction point is not a directory',
    );
    expect(await errorOf(files.putArchive(ro, '/tmp', await upload([{ name: 'f', body: 'x' }]), opts))).toBe(
      'forbidden: container rootfs is marked read-only',
    );
  });

  it('leaves a refused upload to its owner: untouched before the checks, not destroyed after', async () => {
    const id = await create();
    const unread = await upload([{ name: 'f', body: 'x' }]);
    await errorOf(files.putArchive(id, '/nosuch', unread, opts));
    expect([unread.readableDidRead, unread.destroyed]).toEqual([false, false]);
    // An upload still arriving when its first entry is refused.
    const bad = new Readable({ read() {} });
    bad.push(await buildTar([{ name: '../x', body: 'x' }]));
    expect(await errorOf(files.putArchive(id, '/tmp', bad, opts))).toContain('".." in path');
    expect(bad.destroyed).toBe(false);
    bad.destroy();
    // The container is free again.
    expect((await files.statPath(id, '/tmp')).name).toBe('tmp');
  });

  it('freezes a running container while it writes, and works on one that never ran', async () => {
    const id = await create({ Cmd: ['sleep'] });
    await files.putArchive(id, '/tmp', await upload([{ name: 'a', body: 'a' }]), opts);
    expect(exec.calls).toEqual([]);
    await containers.start(id);
    const body = new Readable({ read() {} });
    const putting = files.putArchive(id, '/tmp', body, opts);
    await new Promise((r) => setTimeout(r, 20));
    expect(exec.frozen.has(id)).toBe(true);
    body.push(await buildTar([{ name: 'b', body: 'b' }]));
    body.push(null);
    await putting;
    expect(exec.frozen.has(id)).toBe(false);
    expect(exec.calls).toEqual([`pause ${id.slice(0, 6)}`, `resume ${id.slice(0, 6)}`]);
    await containers.kill(id);
  });

  it('refuses a running container when the exec driver cannot freeze it', async () => {
    const plain = new FakeExecDriver();
    const others = new Containers({
      containersDir: join(dir, 'data', 'containers2'),
      images: images.svc,
      execDriver: plain,
      graphDriverName: 'vfs',
      logger: silent,
    });
    await others.restore();
    const unfrozen = new ContainerFiles({
      store: others.store,
      images: images.svc,
      execDriver: plain,
      logger: silent,
    });
    const { Id } = await others.create({ body: { Image: 'base', Cmd: ['sleep'] } });
    expect((await unfrozen.statPath(Id, '/etc')).name).toBe('etc');
    await others.start(Id);
    expect(await errorOf(unfrozen.statPath(Id, '/etc'))).toContain(
      'not-supported: the exec driver cannot pause',
    );
    await others.kill(Id);
    await others.remove(Id, { force: true });
  });
});

describe('docker cp: a crafted upload writes nothing outside the container', () => {
  let outside = '';
  beforeEach(async () => {
    outside = await mkdtemp(join(tmpdir(), 'tsd-cfs-outside-'));
    await writeFile(join(outside, 'keep'), 'keep');
  });
  afterEach(() => rm(outside, { recursive: true, force: true }));

  const deep = '../'.repeat(30);
  const corpus: Array<[string, () => Parameters<typeof buildTar>[0]]> = [
    ['a `..` name', () => [{ name: `${deep}${outside.slice(1)}/dotdot`, body: 'x' }]],
    ['an absolute name', () => [{ name: `${outside}/abs`, body: 'x' }]],
    [
      'a symlink to the outside, then a file through it',
      () => [
        { name: 'pwn', type: 'symlink', linkname: outside },
        { name: 'pwn/through', body: 'x' },
      ],
    ],
    [
      'a relative symlink climbing out, then a file through it',
      () => [
        { name: 'climb', type: 'symlink', linkname: `${deep}${outside.slice(1)}` },
        { name: 'climb/through', body: 'x' },
      ],
    ],
    [
      'a hardlink to an absolute host path',
      () => [{ name: 'hl', type: 'link', linkname: `${outside}/keep` }],
    ],
    [
      'a hardlink climbing out',
      () => [{ name: 'hl2', type: 'link', linkname: `${deep}${outside.slice(1)}/keep` }],
    ],
    ['a file through a symlink the container already has', () => [{ name: 'link/passwd', body: 'owned' }]],
    [
      'a directory swapped for a symlink mid-archive',
      () => [
        { name: 'd/', type: 'directory' },
        { name: 'd', type: 'symlink', linkname: outside },
        { name: 'd/through', body: 'x' },
      ],
    ],
  ];

  for (const [what, entries] of corpus) {
    it(`refuses ${what}`, async () => {
      const id = await create();
      const dataBefore = await fingerprint(join(dir, 'data'), ['vfs/dir']);
      const outsideBefore = await fingerprint(outside);
      const rootBefore = await inRootfs(id, (root) => fingerprint(root, ['tmp']));
      const result = await errorOf(
        files.putArchive(id, '/tmp', Readable.from([await buildTar(entries())]), {
          noOverwriteDirNonDir: false,
          copyUIDGID: false,
        }),
      );
      expect(result).toMatch(/^invalid-argument: /);
      expect(await fingerprint(outside)).toEqual(outsideBefore);
      expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('keep');
      expect(await fingerprint(join(dir, 'data'), ['vfs/dir'])).toEqual(dataBefore);
      // Inside the container only /tmp (the destination) may have changed.
      expect(await inRootfs(id, (root) => fingerprint(root, ['tmp']))).toEqual(rootBefore);
      await inRootfs(id, async (root) => {
        if ((await lstat(join(root, 'tmp/link/passwd')).catch(() => null)) !== null) {
          expect(await readlink(join(root, 'tmp/link'))).toBe('/etc');
        }
        expect(await readFile(join(root, 'etc/passwd'), 'utf8')).toContain('app:x:1000');
      });
    });
  }

  it('refuses a symlinked parent in the destination rather than following it out', async () => {
    const id = await create();
    const outsideBefore = await fingerprint(outside);
    await inRootfs(id, async (root) => {
      await mkdir(join(root, 'tmp/d'));
      await symlink(outside, join(root, 'tmp/d/out'));
    });
    expect(
      await errorOf(
        files.putArchive(id, '/tmp/d', Readable.from([await buildTar([{ name: 'out/x', body: 'x' }])]), {
          noOverwriteDirNonDir: true,
          copyUIDGID: false,
        }),
      ),
    ).toMatch(/^invalid-argument: .*symlink/);
    expect(await fingerprint(outside)).toEqual(outsideBefore);
  });
});

describe('path stat wire shape', () => {
  it('is moby’s JSON', async () => {
    const id = await create();
    const s: PathStat = await files.statPath(id, '/etc');
    expect(Object.keys(s)).toEqual(['name', 'size', 'mode', 'mtime', 'linkTarget']);
  });
});
