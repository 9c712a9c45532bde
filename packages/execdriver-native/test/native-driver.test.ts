/** Behaviour specific to this driver (the shared behaviour is in conformance.test.ts). Needs root. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ContainerSpec, type DriverContext, type ExecDriver, TsdockerError } from '@tsdocker/core';
import {
  buildTestSpec,
  makeBusyboxRootfs,
  randomContainerId,
  type TestSpecOptions,
} from '@tsdocker/core/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectCgroupVersion } from '../src/cgroups/index.js';
import descriptor from '../src/index.js';
import { DEFAULT_OPTIONS } from '../src/options.js';
import { probeMachine } from '../src/probe.js';
import { tempDriverContext } from './helpers.js';

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

async function output(stream: NodeJS.ReadableStream | null): Promise<string> {
  let text = '';
  if (!stream) return text;
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

describe('native exec driver', { timeout: 60_000 }, () => {
  let ctx: DriverContext;
  let removeCtx: () => Promise<void>;
  let driver: ExecDriver;
  let tmp: string;
  let ids: string[] = [];
  const cleanups: Array<() => void> = [];

  beforeEach(async () => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root');
    ({ ctx, remove: removeCtx } = await tempDriverContext());
    driver = await descriptor.create(ctx, descriptor.parseOptions!({}));
    tmp = await mkdtemp(join(tmpdir(), 'tsdocker-native-test-'));
  });

  afterEach(async () => {
    // Everything is undone even when a step fails; the first failure is reported at the end.
    const failures: unknown[] = [];
    const attempt = (p: Promise<unknown>) => p.catch((err: unknown) => failures.push(err));
    for (const undo of cleanups.splice(0)) undo();
    for (const id of ids) await attempt(driver.cleanup(id));
    ids = [];
    await attempt(driver.close());
    await attempt(removeCtx());
    await attempt(rm(tmp, { recursive: true, force: true }));
    if (failures.length > 0) throw failures[0];
  });

  async function spec(options: Omit<TestSpecOptions, 'id' | 'rootfs'>): Promise<ContainerSpec> {
    const id = randomContainerId();
    ids.push(id);
    const rootfs = join(tmp, id.slice(0, 12));
    await makeBusyboxRootfs(rootfs);
    return buildTestSpec({ id, rootfs, ...options });
  }

  async function run(options: Omit<TestSpecOptions, 'id' | 'rootfs'>) {
    const h = await driver.start(await spec(options));
    const [stdout, stderr, status] = await Promise.all([output(h.stdout), output(h.stderr), h.exited]);
    return { stdout, stderr, status };
  }

  it('probes this machine as supported', async () => {
    expect(await descriptor.probe!(ctx)).toEqual({ supported: true });
  });

  it('explains a missing shim binary', async () => {
    const result = await probeMachine({ ...DEFAULT_OPTIONS, shimPath: '/nonexistent/tsd-shim' });
    expect(result).toEqual({
      supported: false,
      reason: expect.stringMatching(/run the package's install script/),
    });
  });

  it("keeps Docker's default capabilities for root and none for other users", async () => {
    const root = await run({ args: ['sh', '-c', 'grep -E "^Cap(Bnd|Eff|Inh)" /proc/self/status'] });
    // Docker's default set, without CAP_MKNOD where devices cannot be restricted (cgroup v2).
    const expected = (await detectCgroupVersion()) === 1 ? '00000000a80425fb' : '00000000a04425fb';
    expect(root.stdout).toBe(`CapInh:\t0000000000000000\nCapEff:\t${expected}\nCapBnd:\t${expected}\n`);
    const nobody = await run({
      args: ['grep', '^CapEff', '/proc/self/status'],
      user: { uid: 65534, gid: 65534 },
    });
    expect(nobody.stdout).toBe('CapEff:\t0000000000000000\n');
  });

  it('denies devices outside the allowlist', async () => {
    if ((await detectCgroupVersion()) !== 1) return; // v2 has no allowlist here; MKNOD is dropped instead
    const r = await run({
      args: [
        'sh',
        '-c',
        'mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem > /dev/null && echo read || echo denied',
      ],
    });
    expect(r.stdout).toBe('denied\n');
  });

  it('keeps the exit file and cgroups until cleanup, then removes them', async () => {
    const s = await spec({ args: ['sh', '-c', 'exit 4'], resources: { memory: 64 * 1024 * 1024 } });
    const h = await driver.start(s);
    const memoryCgroup = join(
      '/sys/fs/cgroup',
      (await detectCgroupVersion()) === 1 ? 'memory' : '',
      'tsdocker',
      s.id,
    );
    expect(await exists(memoryCgroup)).toBe(true);
    await Promise.all([output(h.stdout), output(h.stderr)]);
    expect((await h.exited).exitCode).toBe(4);
    expect(await readFile(join(ctx.runtimeDir, s.id, 'exit'), 'utf8')).toMatch(/^exit 4 - 0 \d+\n$/);
    await driver.cleanup(s.id);
    expect(await exists(memoryCgroup)).toBe(false);
    expect(await exists(join(ctx.runtimeDir, s.id))).toBe(false);
  });

  it("puts the init and every exec'd process in the container's cgroup in each hierarchy", async () => {
    // The processes join by themselves (writing 0 into `tasks` on v1): check every line of
    // /proc/<pid>/cgroup that belongs to a hierarchy the container uses.
    const s = await spec({ args: ['sleep', '1000'] });
    const h = await driver.start(s);
    const exec = await driver.exec(s.id, { ...s.process, args: ['cat', '/proc/self/cgroup'] });
    const [execCgroups] = await Promise.all([output(exec.stdout), output(exec.stderr), exec.exited]);
    const ownLines = (text: string) =>
      text
        .trim()
        .split('\n')
        .filter((line) => line.endsWith(`/tsdocker/${s.id}`));
    const initLines = ownLines(await readFile(`/proc/${h.pid}/cgroup`, 'utf8'));
    const controllers = initLines.map((line) => line.split(':')[1]);
    if ((await detectCgroupVersion()) === 1)
      expect(controllers).toEqual(expect.arrayContaining(['memory', 'pids']));
    else expect(controllers).toEqual(['']);
    expect(ownLines(execCgroups)).toEqual(initLines);
    await h.signal('KILL');
    await Promise.all([output(h.stdout), output(h.stderr), h.exited]);
  });

  it('leaves no cgroup or state behind when a start fails', async () => {
    const s = await spec({ args: ['no-such-command'], resources: { pidsLimit: 10 } });
    const err = await driver.start(s).catch((e: unknown) => e);
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    expect((err as Error).message).toBe('exec: "no-such-command": executable file not found in $PATH');
    const pidsCgroup = join(
      '/sys/fs/cgroup',
      (await detectCgroupVersion()) === 1 ? 'pids' : '',
      'tsdocker',
      s.id,
    );
    expect(await exists(pidsCgroup)).toBe(false);
    expect(await exists(join(ctx.runtimeDir, s.id))).toBe(false);
  });

  it('refuses to start a running container again, or exec into a stopped one', async () => {
    const s = await spec({ args: ['sleep', '1000'] });
    const h = await driver.start(s);
    await expect(driver.start(s)).rejects.toSatisfy((e) => TsdockerError.is(e, 'conflict'));
    await h.signal('KILL');
    await Promise.all([output(h.stdout), output(h.stderr), h.exited]);
    const process = { ...s.process, args: ['true'] };
    await expect(driver.exec(s.id, process)).rejects.toSatisfy((e) => TsdockerError.is(e, 'conflict'));
  });

  it('refuses container ids that are not a single path component', async () => {
    const s = await spec({ args: ['true'] });
    await expect(driver.start({ ...s, id: '../escape' })).rejects.toSatisfy((e) =>
      TsdockerError.is(e, 'invalid-argument'),
    );
  });

  it('joins a network namespace given by path', async () => {
    const holder = spawn('unshare', ['--net', 'sleep', '1000'], { stdio: 'ignore' });
    cleanups.push(() => holder.kill('SIGKILL'));
    await new Promise((resolve) => holder.once('spawn', resolve));
    // unshare execs sleep once the namespace exists: wait until its ns link differs from ours.
    const ours = await readlink('/proc/self/ns/net');
    let theirs = ours;
    while (theirs === ours) theirs = await readlink(`/proc/${holder.pid}/ns/net`);
    const r = await run({
      args: ['readlink', '/proc/self/ns/net'],
      namespaces: [
        { type: 'pid' },
        { type: 'mount' },
        { type: 'network', path: `/proc/${holder.pid}/ns/net` },
      ],
    });
    expect(r.stdout.trim()).toBe(theirs);
  });

  it("shares the host's network when the spec has no network namespace", async () => {
    const r = await run({
      args: ['readlink', '/proc/self/ns/net'],
      namespaces: [{ type: 'pid' }, { type: 'mount' }],
    });
    expect(r.stdout.trim()).toBe(await readlink('/proc/self/ns/net'));
  });

  it('gives a container a cgroup namespace rooted at its own cgroup', async () => {
    const r = await run({
      args: ['cat', '/proc/self/cgroup'],
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'cgroup' }],
    });
    const paths = r.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(':')[2]);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.every((p) => p === '/')).toBe(true);
  });

  it("joins another container's pid namespace given by path", async () => {
    const first = await driver.start(await spec({ args: ['sleep', '1000'] }));
    const r = await run({
      args: ['cat', '/proc/1/cmdline'],
      namespaces: [{ type: 'mount' }, { type: 'pid', path: `/proc/${first.pid}/ns/pid` }],
    });
    expect(r.stdout).toBe('sleep\u00001000\u0000');
  });

  it('runs a process that opens its own stdout as a non-root user', async () => {
    const r = await run({
      args: ['sh', '-c', 'echo hi > /dev/stdout; echo oops > /dev/stderr'],
      user: { uid: 1000, gid: 1000 },
    });
    expect(r).toMatchObject({ stdout: 'hi\n', stderr: 'oops\n' });
  });
});
