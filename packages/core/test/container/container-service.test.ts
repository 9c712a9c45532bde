import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Containers } from '../../src/container/container-service.js';
import { TsdockerError } from '../../src/errors.js';
import type { OutputChunk } from '../../src/services.js';
import { FakeExecDriver, FakeImages } from './fake-drivers.js';

let dir = '';
let driver: FakeExecDriver;
let containers: Containers;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function make(): Containers {
  return new Containers({
    containersDir: join(dir, 'containers'),
    images: new FakeImages(join(dir, 'layers')),
    execDriver: driver,
    graphDriverName: 'fake',
    logger: silent,
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsd-containers-'));
  driver = new FakeExecDriver();
  containers = make();
  await containers.restore();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function text(output: NodeJS.ReadableStream, stream?: 'stdout' | 'stderr'): Promise<string> {
  let s = '';
  for await (const c of output as AsyncIterable<OutputChunk>)
    if (!stream || c.stream === stream) s += c.data.toString();
  return s;
}

describe('containers', () => {
  it("create merges the image config, names, hostname and persists Docker's files", async () => {
    const { Id } = await containers.create({ name: 'web', body: { Image: 'busybox' } });
    const view = await containers.inspect('web');
    expect(view).toMatchObject({
      Id,
      Name: '/web',
      Path: 'echo',
      Args: ['default'],
      State: { Status: 'created' },
    });
    expect((view.Config as { Hostname: string }).Hostname).toBe(Id.slice(0, 12));
    expect(existsSync(join(dir, 'containers', Id, 'config.v2.json'))).toBe(true);
    expect(existsSync(join(dir, 'containers', Id, 'hostconfig.json'))).toBe(true);
    // Init layer made before the container's own.
    expect(existsSync(join(dir, 'layers', Id, '.dockerenv'))).toBe(true);
  });

  it('looks containers up by id, unique prefix and name', async () => {
    const { Id } = await containers.create({ name: 'aa', body: { Image: 'busybox' } });
    expect((await containers.inspect(Id.slice(0, 5))).Id).toBe(Id);
    expect((await containers.inspect('/aa')).Id).toBe(Id);
    await expect(containers.inspect('nosuch')).rejects.toThrow('No such container: nosuch');
  });

  it('a duplicate name is a 409 and changes nothing', async () => {
    const { Id } = await containers.create({ name: 'dup', body: { Image: 'busybox' } });
    const err = await containers.create({ name: 'dup', body: { Image: 'busybox' } }).catch((e) => e);
    expect(TsdockerError.is(err, 'conflict')).toBe(true);
    expect(err.message).toBe(
      `Conflict. The container name "/dup" is already in use by container "${Id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    expect(await containers.list({ all: true, size: false, filters: {} })).toHaveLength(1);
  });

  it('run flow: attach and wait before start, output and exit code, then logs', async () => {
    const { Id } = await containers.create({ body: { Image: 'busybox', Cmd: ['echo', 'hi'] } });
    const attachment = await containers.attach(Id, {
      stdin: false,
      stdout: true,
      stderr: true,
      stream: true,
      logs: false,
    });
    const { result } = await containers.wait(Id, 'next-exit');
    await containers.start(Id);
    const out = text(attachment.output, 'stdout');
    expect((await result).StatusCode).toBe(0);
    expect(await out).toBe('hi\n');
    const logs = await containers.logs(Id, {
      follow: false,
      stdout: true,
      stderr: true,
      since: 0,
      until: 0,
      timestamps: false,
      tail: 'all',
      details: false,
    });
    expect(await text(logs.output)).toBe('hi\nto-stderr\n');
    // A stopped container starts again, and a later attacher sees the new run.
    const again = await containers.wait(Id, 'next-exit');
    await expect(containers.start(Id)).resolves.toBeUndefined();
    expect((await again.result).StatusCode).toBe(0);
  });

  it('stdin sent before start reaches the process (run -i)', async () => {
    const { Id } = await containers.create({
      body: { Image: 'busybox', Cmd: ['cat'], OpenStdin: true, StdinOnce: true, AttachStdin: true },
    });
    const a = await containers.attach(Id, {
      stdin: true,
      stdout: true,
      stderr: true,
      stream: true,
      logs: false,
    });
    a.stdin!.end('line1\nline2\n');
    await containers.start(Id);
    expect(await text(a.output)).toBe('line1\nline2\n');
  });

  it('AutoRemove removes after exit and releases `removed` waiters', async () => {
    const { Id } = await containers.create({
      body: { Image: 'busybox', Cmd: ['exit', '7'], HostConfig: { AutoRemove: true } },
    });
    const { result } = await containers.wait(Id, 'removed');
    await containers.start(Id);
    expect((await result).StatusCode).toBe(7);
    expect(await containers.list({ all: true, size: false, filters: {} })).toEqual([]);
    expect(existsSync(join(dir, 'containers', Id))).toBe(false);
  });

  it('a failed start with AutoRemove still removes (the CLI waits for it)', async () => {
    const { Id } = await containers.create({
      body: { Image: 'busybox', Cmd: ['nosuch'], HostConfig: { AutoRemove: true } },
    });
    const { result } = await containers.wait(Id, 'removed');
    const err = await containers.start(Id).catch((e) => e);
    expect(err.message).toContain('executable file not found');
    expect((await result).StatusCode).toBe(127);
  });

  it("stop, kill, remove follow Docker's state rules", async () => {
    const { Id } = await containers.create({ name: 'ss', body: { Image: 'busybox', Cmd: ['sleep'] } });
    await expect(containers.kill('ss')).rejects.toThrow(
      `cannot kill container: ss: container ${Id} is not running`,
    );
    await containers.start('ss');
    await expect(containers.start('ss')).rejects.toSatisfy((e) => TsdockerError.is(e, 'not-modified'));
    await expect(containers.remove('ss')).rejects.toThrow(
      'cannot remove container "ss": container is running: stop the container before removing or force remove',
    );
    await expect(containers.kill('ss', 'NOPE')).rejects.toThrow('Invalid signal: NOPE');
    await containers.stop('ss', { timeout: 5 });
    expect((await containers.inspect('ss')).State).toMatchObject({ Status: 'exited', ExitCode: 143 });
    await expect(containers.stop('ss')).rejects.toSatisfy((e) => TsdockerError.is(e, 'not-modified'));
    const { result } = await containers.wait('ss', 'not-running');
    expect((await result).StatusCode).toBe(143);
    await containers.remove('ss');
    await expect(containers.inspect('ss')).rejects.toThrow('No such container: s');
  });

  it('restores containers from disk; running ones are recorded as exited', async () => {
    const { Id } = await containers.create({ name: 'rr', body: { Image: 'busybox', Cmd: ['sleep'] } });
    await containers.start(Id);
    const again = make();
    await again.restore();
    expect((await again.inspect('rr')).State).toMatchObject({
      Status: 'exited',
      ExitCode: 255,
      Running: false,
    });
    const state = JSON.parse(await readFile(join(dir, 'containers', Id, 'config.v2.json'), 'utf8'));
    expect(state.State.Running).toBe(false);
    await containers.kill(Id);
  });

  it('ps filters and ordering', async () => {
    const a = await containers.create({ name: 'one', body: { Image: 'busybox', Labels: { tier: 'web' } } });
    const b = await containers.create({ name: 'two', body: { Image: 'busybox' } });
    const all = await containers.list({ all: true, size: false, filters: {} });
    expect(all.map((c) => c.Id)).toEqual([b.Id, a.Id]);
    expect(await containers.list({ all: false, size: false, filters: {} })).toEqual([]);
    const labelled = await containers.list({ all: true, size: false, filters: { label: ['tier=web'] } });
    expect(labelled.map((c) => c.Names)).toEqual([['/one']]);
    const byStatus = await containers.list({ all: true, size: false, filters: { status: ['created'] } });
    expect(byStatus).toHaveLength(2);
    await expect(containers.list({ all: true, size: false, filters: { bogus: ['x'] } })).rejects.toThrow(
      "invalid filter 'bogus'",
    );
  });
});
