/**
 * The exec driver conformance kit: real containers from a busybox rootfs, checked by what a
 * Docker user would observe. Run it as root; it fails (never skips) otherwise.
 *
 *   execDriverSuite('native', async () => {
 *     const driver = await descriptor.create(ctx, options);
 *     return { driver, dispose: () => driver.close() };
 *   });
 *
 * Every case has its own temp dir, rootfs and container id, and cleans them up in afterEach.
 */
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PATH_ENV } from '../container/oci-defaults.js';
import type {
  ContainerSpec,
  ExecDriver,
  ExitStatus,
  ProcessHandle,
  ProcessSpec,
} from '../drivers/exec-driver.js';
import { capabilityMask, DEFAULT_CAPABILITIES, daemonBoundingSet } from '../security/capabilities.js';
import { makeBusyboxRootfs } from './busybox-rootfs.js';
import { buildTestSpec, randomContainerId, type TestSpecOptions } from './spec-builder.js';
import { buildSyscallProbe } from './syscall-probe.js';

export interface ExecDriverHarness {
  driver: ExecDriver;
  /** Releases the driver (close it, remove its state dirs). */
  dispose(): Promise<void>;
}

const MiB = 1024 * 1024;

/** Collects a stream's text and lets a test wait for a pattern (no timers: the test timeout bounds it). */
class Output {
  text = '';
  readonly ended: Promise<string>;
  private waiters: Array<{ pattern: RegExp; resolve(): void; reject(err: Error): void }> = [];
  private done = false;

  constructor(stream: Readable | null) {
    if (!stream) {
      this.done = true;
      this.ended = Promise.resolve('');
      return;
    }
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.text += chunk;
      this.waiters = this.waiters.filter((w) => {
        if (!w.pattern.test(this.text)) return true;
        w.resolve();
        return false;
      });
    });
    this.ended = new Promise((resolve, reject) => {
      stream.on('end', () => {
        this.done = true;
        for (const w of this.waiters.splice(0))
          w.reject(new Error(`output ended without ${w.pattern}; it was: ${JSON.stringify(this.text)}`));
        resolve(this.text);
      });
      stream.on('error', reject);
    });
  }

  waitFor(pattern: RegExp): Promise<void> {
    if (pattern.test(this.text)) return Promise.resolve();
    if (this.done)
      return Promise.reject(
        new Error(`output ended without ${pattern}; it was: ${JSON.stringify(this.text)}`),
      );
    return new Promise((resolve, reject) => this.waiters.push({ pattern, resolve, reject }));
  }
}

interface Observed {
  handle: ProcessHandle;
  stdout: Output;
  stderr: Output;
  /** Exit status once all output has been read. */
  finished(): Promise<{ status: ExitStatus; stdout: string; stderr: string }>;
}

function observe(handle: ProcessHandle): Observed {
  const stdout = new Output(handle.stdout);
  const stderr = new Output(handle.stderr);
  return {
    handle,
    stdout,
    stderr,
    async finished() {
      const [status, out, err] = await Promise.all([handle.exited, stdout.ended, stderr.ended]);
      return { status, stdout: out, stderr: err };
    },
  };
}

function processSpec(args: string[], extra: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    args,
    env: [DEFAULT_PATH_ENV],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    terminal: false,
    openStdin: false,
    ...extra,
  };
}

/** The host directory of a live process's cgroup for one controller (v1) or the unified one (v2). */
async function hostCgroupDir(pid: number, controller: string): Promise<{ version: 1 | 2; dir: string }> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n');
  for (const line of lines) {
    const [, controllers = '', path = ''] = line.split(':');
    if (controllers.split(',').includes(controller))
      return { version: 1, dir: `/sys/fs/cgroup/${controllers}${path}` };
  }
  const unified = lines.find((l) => l.startsWith('0::'));
  if (!unified) throw new Error(`process ${pid} has no ${controller} cgroup: ${lines.join(' | ')}`);
  return { version: 2, dir: `/sys/fs/cgroup${unified.slice(3)}` };
}

async function cgroupValue(pid: number, controller: string, v1File: string, v2File: string): Promise<string> {
  const { version, dir } = await hostCgroupDir(pid, controller);
  return (await readFile(join(dir, version === 1 ? v1File : v2File), 'utf8')).trim();
}

/** The `Cap*`, `Seccomp` and `NoNewPrivs` lines of a /proc/<pid>/status text. */
function confinementOf(status: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of status.split('\n')) {
    const m = /^(Cap\w+|Seccomp|NoNewPrivs):\s*(\S+)/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** `name: RESULT` lines of the syscall probe. */
function probeResults(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => l.split(': ') as [string, string]),
  );
}

const DEFAULT_MASK = capabilityMask(DEFAULT_CAPABILITIES);
/** A driver that cannot enforce a device allowlist (cgroup v2 without eBPF) withholds CAP_MKNOD. */
const DEFAULT_MASK_WITHOUT_MKNOD = capabilityMask(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD'));
const NO_CAPS = '0000000000000000';

export function execDriverSuite(name: string, factory: () => Promise<ExecDriverHarness>): void {
  describe(`exec driver conformance: ${name}`, { timeout: 60_000 }, () => {
    let harness: ExecDriverHarness | undefined;
    let driver: ExecDriver;
    let tmp = '';
    let containerIds: string[] = [];

    beforeEach(async () => {
      const uid = process.getuid?.();
      if (uid !== 0)
        throw new Error(
          `the exec driver conformance suite needs root (namespaces, cgroups, mounts); running as uid ${uid}`,
        );
      tmp = await mkdtemp(join(tmpdir(), 'tsdocker-exec-suite-'));
      harness = await factory();
      driver = harness.driver;
    });

    afterEach(async () => {
      const failures: unknown[] = [];
      for (const id of containerIds) await driver.cleanup(id).catch((err: unknown) => failures.push(err));
      containerIds = [];
      await harness?.dispose().catch((err: unknown) => failures.push(err));
      harness = undefined;
      if (tmp) await rm(tmp, { recursive: true, force: true });
      if (failures.length > 0) throw failures[0];
    });

    /** A fresh busybox rootfs and container id, registered for cleanup before anything runs. */
    async function prepare(options: Omit<TestSpecOptions, 'id' | 'rootfs'>): Promise<ContainerSpec> {
      const id = randomContainerId();
      containerIds.push(id);
      const rootfs = join(tmp, id.slice(0, 12), 'rootfs');
      await makeBusyboxRootfs(rootfs);
      return buildTestSpec({ id, rootfs, ...options });
    }

    async function start(
      options: Omit<TestSpecOptions, 'id' | 'rootfs'>,
    ): Promise<Observed & { spec: ContainerSpec }> {
      const spec = await prepare(options);
      return { spec, ...observe(await driver.start(spec)) };
    }

    async function run(options: Omit<TestSpecOptions, 'id' | 'rootfs'>) {
      return (await start(options)).finished();
    }

    it('writes stdout and stderr to separate streams', async () => {
      const r = await run({
        args: ['sh', '-c', 'echo out; echo err >&2; echo via-dev-stdout > /dev/stdout'],
      });
      expect(r.stdout).toBe('out\nvia-dev-stdout\n');
      expect(r.stderr).toBe('err\n');
      expect(r.status).toMatchObject({ exitCode: 0, oomKilled: false });
      expect(r.status.signal).toBeUndefined();
      expect(r.status.finishedAt).toBeInstanceOf(Date);
    });

    it('reports the exit code', async () => {
      const r = await run({ args: ['sh', '-c', 'exit 7'] });
      expect(r.status.exitCode).toBe(7);
    });

    it('reports a signal death as 128 + the signal (SIGKILL is 137)', async () => {
      const c = await start({ args: ['sleep', '1000'] });
      expect(c.handle.pid).toBeGreaterThan(0);
      await c.handle.signal('SIGKILL');
      const r = await c.finished();
      expect(r.status.exitCode).toBe(137);
      expect(r.status.signal).toBe('SIGKILL');
      await c.handle.signal('SIGKILL'); // a no-op once the process is gone
    });

    it('runs the process as pid 1, seeing only its own processes', async () => {
      const r = await run({ args: ['sh', '-c', 'echo $$; ls /proc'] });
      const [self, ...listing] = r.stdout.trim().split('\n');
      expect(self).toBe('1');
      const pids = listing.filter((entry) => /^\d+$/.test(entry));
      expect(pids).toContain('1');
      expect(pids.length).toBeLessThanOrEqual(2); // the shell and, maybe, ls
    });

    it('sets the hostname and domain name', async () => {
      const r = await run({
        args: ['sh', '-c', 'hostname; cat /proc/sys/kernel/domainname'],
        hostname: 'conformance-host',
        domainname: 'example.test',
      });
      expect(r.stdout).toBe('conformance-host\nexample.test\n');
    });

    it('applies the environment and the working directory, creating it if missing', async () => {
      const r = await run({
        args: ['sh', '-c', 'echo "$GREETING"; pwd'],
        env: ['GREETING=hello world'],
        cwd: '/work/dir',
      });
      expect(r.stdout).toBe('hello world\n/work/dir\n');
    });

    it('runs as the given uid, gid and additional gids', async () => {
      const r = await run({
        args: ['sh', '-c', 'id; echo reopened > /dev/stdout'],
        user: { uid: 33, gid: 33, additionalGids: [5, 1234] },
      });
      expect(r.stderr).toBe('');
      const [id, reopened] = r.stdout.trim().split('\n');
      expect(id).toMatch(/^uid=33\(www-data\) gid=33\(www-data\) groups=/);
      expect(id).toMatch(/groups=.*\b5\(tty\)/);
      expect(id).toMatch(/groups=.*\b1234\b/);
      expect(reopened).toBe('reopened');
    });

    it('has only a loopback interface, and it is up', async () => {
      const r = await run({ args: ['sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/flags'] });
      const [interfaces, flags] = r.stdout.trim().split('\n');
      expect(interfaces).toBe('lo');
      expect(Number(flags) & 1).toBe(1); // IFF_UP
    });

    it('gives no way back to the host filesystem through /proc', async () => {
      const marker = join(tmp, `host-marker-${randomBytes(4).toString('hex')}`);
      await writeFile(marker, 'host');
      const spec = await prepare({
        args: [
          'sh',
          '-c',
          `[ -e /inside-marker ] && echo inside; for p in "${marker}" "/proc/1/root${marker}" "/proc/1/cwd/../../..${marker}" "/proc/self/root${marker}"; do [ -e "$p" ] && echo "reachable: $p"; done; echo checked`,
        ],
      });
      await writeFile(join(spec.rootfs, 'inside-marker'), '');
      const r = await observe(await driver.start(spec)).finished();
      expect(r.stdout).toBe('inside\nchecked\n');
    });

    it('hides masked paths and write-protects read-only ones', async () => {
      const r = await run({
        args: [
          'sh',
          '-c',
          'for p in /proc/keys /proc/timer_list /proc/kcore; do [ -e $p ] && cat $p | wc -c; done; ls /sys/firmware | wc -l; if echo x > /proc/sys/kernel/domainname; then echo writable; else echo read-only; fi',
        ],
      });
      const lines = r.stdout.trim().split('\n');
      expect(lines.pop()).toBe('read-only');
      expect(lines.every((l) => l.trim() === '0')).toBe(true);
    });

    it('makes the root filesystem read-only when asked', async () => {
      const r = await run({
        args: [
          'sh',
          '-c',
          'if touch /new-file; then echo writable; else echo read-only; fi; touch /dev/shm/ok 2>/dev/null; echo done',
        ],
        readonlyRootfs: true,
      });
      expect(r.stdout).toMatch(/^read-only\n/);
    });

    it('runs on a terminal, whose name is /dev/pts/0', async () => {
      const r = await run({ args: ['tty'], terminal: true });
      expect(r.stdout.trim()).toBe('/dev/pts/0');
      expect(r.status.exitCode).toBe(0);
    });

    it('relays stdin to a terminal and resizes it', async () => {
      const c = await start({
        args: ['sh'],
        terminal: true,
        openStdin: true,
        consoleSize: { rows: 24, cols: 80 },
      });
      expect(c.handle.stderr).toBeNull();
      expect(c.handle.stdin).not.toBeNull();
      c.handle.stdin?.write('stty size\n');
      await c.stdout.waitFor(/\b24 80\b/);
      await c.handle.resize(40, 100);
      c.handle.stdin?.write('stty size\n');
      await c.stdout.waitFor(/\b40 100\b/);
      c.handle.stdin?.write('exit 3\n');
      expect((await c.finished()).status.exitCode).toBe(3);
    });

    it("closes the process's stdin when the stream ends", async () => {
      const c = await start({ args: ['cat'], openStdin: true });
      c.handle.stdin?.write('hello\n');
      c.handle.stdin?.end();
      const r = await c.finished();
      expect(r.stdout).toBe('hello\n');
      expect(r.status.exitCode).toBe(0);
    });

    it('gives the process an empty stdin without openStdin', async () => {
      const c = await start({ args: ['cat'] });
      expect(c.handle.stdin).toBeNull();
      const r = await c.finished();
      expect(r.stdout).toBe('');
      expect(r.status.exitCode).toBe(0);
    });

    it("exec joins the container's namespaces and cgroup", async () => {
      const c = await start({
        args: ['sh', '-c', 'echo from-init > /tmp/init-file; echo ready; exec sleep 1000'],
        hostname: 'exec-host',
      });
      await c.stdout.waitFor(/ready/);

      const sleeper = observe(await driver.exec(c.spec.id, processSpec(['sleep', '1000'])));
      expect(await driver.processes(c.spec.id)).toEqual(
        expect.arrayContaining([c.handle.pid, sleeper.handle.pid]),
      );
      await sleeper.handle.signal('KILL');
      expect((await sleeper.finished()).status.exitCode).toBe(137);

      const r = await observe(
        await driver.exec(
          c.spec.id,
          processSpec(
            [
              'sh',
              '-c',
              'hostname; cat /tmp/init-file; echo $$; cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup',
            ],
            {
              cwd: '/tmp',
            },
          ),
        ),
      ).finished();
      expect(r.stderr).toBe('');
      const [hostname, fromInit, pid, ...rest] = r.stdout.trim().split('\n');
      expect(hostname).toBe('exec-host');
      expect(fromInit).toBe('from-init');
      expect(Number(pid)).toBeGreaterThan(1);
      const split = rest.indexOf('---');
      expect(rest.slice(0, split)).toEqual(rest.slice(split + 1));
      expect(r.status.exitCode).toBe(0);
    });

    it('exec reports exit codes and signal deaths', async () => {
      const c = await start({ args: ['sleep', '1000'] });
      const five = await observe(
        await driver.exec(c.spec.id, processSpec(['sh', '-c', 'exit 5'])),
      ).finished();
      expect(five.status.exitCode).toBe(5);
      const term = await observe(
        await driver.exec(c.spec.id, processSpec(['sh', '-c', 'kill -TERM $$'])),
      ).finished();
      expect(term.status).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
    });

    it('exec runs as the given user in the given directory', async () => {
      const c = await start({ args: ['sleep', '1000'] });
      const r = await observe(
        await driver.exec(
          c.spec.id,
          processSpec(['sh', '-c', 'id -u; pwd'], {
            user: { uid: 65534, gid: 65534, additionalGids: [] },
            cwd: '/tmp',
          }),
        ),
      ).finished();
      expect(r.stdout).toBe('65534\n/tmp\n');
    });

    it('exec runs on a terminal of its own', async () => {
      const c = await start({ args: ['sleep', '1000'], terminal: true });
      const r = await observe(
        await driver.exec(
          c.spec.id,
          processSpec(['sh', '-c', 'tty; stty size'], {
            terminal: true,
            consoleSize: { rows: 30, cols: 90 },
          }),
        ),
      ).finished();
      expect(r.stdout).toMatch(/^\/dev\/pts\/[1-9]\d*\r\n30 90\r\n$/);
      expect(r.status.exitCode).toBe(0);
    });

    it('rejects a command that is not found, leaving nothing behind', async () => {
      const spec = await prepare({ args: ['no-such-command'] });
      await expect(driver.start(spec)).rejects.toThrow(/executable file not found in \$PATH/);
      expect(await driver.processes(spec.id)).toEqual([]);
      // The id is free again.
      spec.process.args = ['true'];
      expect((await observe(await driver.start(spec)).finished()).status.exitCode).toBe(0);
    });

    it('rejects commands that cannot be executed', async () => {
      await expect(driver.start(await prepare({ args: ['/etc'] }))).rejects.toThrow(
        /is a directory|permission denied/,
      );
      await expect(driver.start(await prepare({ args: ['/etc/passwd'] }))).rejects.toThrow(
        /permission denied/,
      );
      await expect(driver.start(await prepare({ args: ['/no/such/file'] }))).rejects.toThrow(
        /no such file or directory/,
      );
    });

    it('exec rejects a command that is not found', async () => {
      const c = await start({ args: ['sleep', '1000'] });
      await expect(driver.exec(c.spec.id, processSpec(['no-such-command']))).rejects.toThrow(
        /executable file not found/,
      );
    });

    it('applies a memory limit', async () => {
      const c = await start({ args: ['sleep', '1000'], resources: { memory: 64 * MiB } });
      expect(Number(await cgroupValue(c.handle.pid, 'memory', 'memory.limit_in_bytes', 'memory.max'))).toBe(
        64 * MiB,
      );
      if (driver.stats) expect((await driver.stats(c.spec.id)).memoryLimit).toBe(64 * MiB);
    });

    it('OOM-kills a process that exceeds its memory limit', async () => {
      // tail keeps the last lines of /dev/zero, which has no newline: one ever-growing line.
      const r = await run({ args: ['tail', '/dev/zero'], resources: { memory: 32 * MiB } });
      expect(r.status.exitCode).toBe(137);
      expect(r.status.oomKilled).toBe(true);
    });

    it('applies a pids limit', async () => {
      const c = await start({
        args: ['sh', '-c', 'echo ready; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1000 & done; wait'],
        resources: { pidsLimit: 5 },
      });
      await c.stdout.waitFor(/ready/);
      const limit = await cgroupValue(c.handle.pid, 'pids', 'pids.max', 'pids.max').catch(() => undefined);
      const r = await c.finished(); // the shell cannot fork its sixth task and gives up
      if (limit !== undefined) expect(limit).toBe('5');
      expect(r.status.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/fork/i);
    });

    it('delivers signals given by name or number', async () => {
      const script =
        'trap "exit 42" USR1; trap "exit 43" TERM; echo ready; while :; do sleep 1 & wait $!; done';
      const byName = await start({ args: ['sh', '-c', script] });
      await byName.stdout.waitFor(/ready/);
      await byName.handle.signal('USR1');
      expect((await byName.finished()).status.exitCode).toBe(42);

      const byNumber = await start({ args: ['sh', '-c', script] });
      await byNumber.stdout.waitFor(/ready/);
      await byNumber.handle.signal(15);
      expect((await byNumber.finished()).status.exitCode).toBe(43);

      const prefixed = await start({ args: ['sh', '-c', script] });
      await prefixed.stdout.waitFor(/ready/);
      await expect(prefixed.handle.signal('NOPE')).rejects.toThrow(/Invalid signal: NOPE/);
      await prefixed.handle.signal('SIGTERM');
      expect((await prefixed.finished()).status.exitCode).toBe(43);
    });

    it('lists the container processes', async () => {
      const c = await start({ args: ['sleep', '1000'] });
      expect(await driver.processes(c.spec.id)).toContain(c.handle.pid);
    });

    it('pauses and resumes the container', async (ctx) => {
      if (!driver.pause || !driver.resume) ctx.skip();
      const c = await start({ args: ['cat'], openStdin: true });
      await driver.pause!(c.spec.id);
      const frozen = await hostCgroupDir(c.handle.pid, 'freezer');
      const state = () =>
        frozen.version === 1
          ? readFile(join(frozen.dir, 'freezer.state'), 'utf8').then((s) => s.trim())
          : readFile(join(frozen.dir, 'cgroup.events'), 'utf8').then((s) =>
              /frozen 1/.test(s) ? 'FROZEN' : 'THAWED',
            );
      expect(await state()).toBe('FROZEN');
      await driver.resume!(c.spec.id);
      expect(await state()).toBe('THAWED');
      c.handle.stdin?.write('after resume\n');
      await c.stdout.waitFor(/after resume/);
      c.handle.stdin?.end();
      expect((await c.finished()).status.exitCode).toBe(0);
    });

    it('cleans up twice without complaint', async () => {
      const c = await start({ args: ['true'] });
      await c.finished();
      await driver.cleanup(c.spec.id);
      await driver.cleanup(c.spec.id);
      expect(await driver.processes(c.spec.id)).toEqual([]);
    });

    it('cleanup kills what is still running', async () => {
      const c = await start({ args: ['sleep', '1000'] });
      await driver.cleanup(c.spec.id);
      expect((await c.finished()).status.exitCode).toBe(137);
    });

    describe('confinement', () => {
      let probeDir = '';
      afterAll(async () => {
        if (probeDir) await rm(probeDir, { recursive: true, force: true });
      });

      /** The syscall probe, built once per suite run. */
      async function probeBinary(): Promise<string> {
        if (!probeDir) {
          probeDir = await mkdtemp(join(tmpdir(), 'tsdocker-probe-'));
          await buildSyscallProbe(join(probeDir, 'probe'));
        }
        return join(probeDir, 'probe');
      }

      /** A container with the probe at /probe (setuid root when asked). */
      async function withProbe(options: Omit<TestSpecOptions, 'id' | 'rootfs'>, setuid = false) {
        const spec = await prepare(options);
        await copyFile(await probeBinary(), join(spec.rootfs, 'probe'));
        await chmod(join(spec.rootfs, 'probe'), setuid ? 0o4755 : 0o755);
        return observe(await driver.start(spec)).finished();
      }

      it("gives a default container Docker's capabilities, empty inheritable and ambient sets, and seccomp", async () => {
        const r = await run({ args: ['cat', '/proc/self/status'] });
        const c = confinementOf(r.stdout);
        expect([DEFAULT_MASK, DEFAULT_MASK_WITHOUT_MKNOD]).toContain(c.CapEff);
        expect(c.CapPrm).toBe(c.CapEff);
        expect(c.CapBnd).toBe(c.CapEff);
        expect(c.CapInh).toBe(NO_CAPS);
        expect(c.CapAmb).toBe(NO_CAPS);
        expect(c.Seccomp).toBe('2');
        expect(c.NoNewPrivs).toBe('0');
      });

      it('refuses unshare, mount, keyctl, io_uring, bpf and AF_ALG sockets under the default profile', async () => {
        const r = await withProbe({
          args: [
            '/probe',
            'keyctl',
            'io_uring_setup',
            'unshare-user',
            'unshare-mount',
            'mount',
            'clone3',
            'bpf',
            'personality',
            'socket-alg',
            'socket-vsock',
            'socket-inet',
          ],
        });
        expect(probeResults(r.stdout)).toEqual({
          keyctl: 'EPERM',
          io_uring_setup: 'EPERM',
          'unshare-user': 'EPERM',
          'unshare-mount': 'EPERM',
          mount: 'EPERM',
          clone3: 'ENOSYS',
          bpf: 'EPERM',
          personality: 'EPERM',
          'socket-alg': 'EPERM',
          'socket-vsock': 'EPERM',
          'socket-inet': 'ok',
        });
        const shell = await run({
          args: [
            'sh',
            '-c',
            'mkdir -p /mnt; unshare -r true 2>/dev/null && echo unshared; mount -t tmpfs none /mnt 2>/dev/null && echo mounted; echo done',
          ],
        });
        expect(shell.stdout).toBe('done\n');
      });

      it('lets mknod create a block device but not open it', async () => {
        const r = await withProbe({ args: ['/probe', 'mknod-block', 'open-block'] });
        const results = probeResults(r.stdout);
        // Without CAP_MKNOD (a driver that cannot enforce the allowlist) mknod itself fails.
        if (results['mknod-block'] === 'ok') expect(results['open-block']).toBe('EPERM');
        else expect(results['mknod-block']).toBe('EPERM');
      });

      it('opens a device the cgroup rules allow, and only that one', async () => {
        const loop = {
          path: '/dev/tsd-loop',
          type: 'b' as const,
          major: 7,
          minor: 0,
          fileMode: 0o600,
          uid: 0,
          gid: 0,
        };
        const script = 'dd if=/dev/tsd-loop of=/dev/null bs=1 count=0 2>&1; true';
        const denied = await run({ args: ['sh', '-c', script], devices: [loop] });
        expect(denied.stdout).toMatch(/Operation not permitted/);
        const allowed = await run({
          args: ['sh', '-c', script],
          devices: [loop],
          deviceRules: [
            { allow: false, type: 'a', access: 'rwm' },
            { allow: true, type: 'b', major: 7, minor: 0, access: 'r' },
          ],
        });
        expect(allowed.stdout).not.toMatch(/Operation not permitted/);
      });

      it('makes /proc/sys, /proc/sysrq-trigger and /sys read-only', async () => {
        const r = await run({
          args: [
            'sh',
            '-c',
            'for f in /proc/sys/kernel/hostname /proc/sysrq-trigger /sys/kernel/uevent_helper /sys/fs/cgroup/x; do if (echo x > $f) 2>/dev/null; then echo "writable $f"; fi; done; mkdir /sys/fs/cgroup/x 2>/dev/null && echo "cgroupfs writable"; echo checked',
          ],
        });
        expect(r.stdout).toBe('checked\n');
      });

      it('without seccomp and with every capability, mount and unshare work', async () => {
        const all = [...daemonBoundingSet()]; // what --privileged gets: all the daemon holds
        const r = await run({
          args: [
            'sh',
            '-c',
            'grep -E "^(CapEff|Seccomp):" /proc/self/status; mkdir -p /mnt; mount -t tmpfs none /mnt && unshare -m true && echo mounted',
          ],
          capabilities: all,
          seccomp: null,
          maskedPaths: [],
          readonlyPaths: [],
        });
        const c = confinementOf(r.stdout);
        expect(c.Seccomp).toBe('0');
        expect(BigInt(`0x${c.CapEff}`)).toBeGreaterThan(BigInt(`0x${DEFAULT_MASK}`));
        expect(r.stdout).toMatch(/mounted/);
      });

      it('keeps exactly the capabilities asked for (cap-drop ALL, cap-add NET_RAW)', async () => {
        const r = await run({ args: ['cat', '/proc/self/status'], capabilities: ['CAP_NET_RAW'] });
        const c = confinementOf(r.stdout);
        expect(c.CapEff).toBe(capabilityMask(['CAP_NET_RAW']));
        expect(c.CapBnd).toBe(c.CapEff);
        expect(c.CapInh).toBe(NO_CAPS);
      });

      it('a non-root user keeps no capabilities, only the bounding set', async () => {
        const r = await run({ args: ['cat', '/proc/self/status'], user: { uid: 1000, gid: 1000 } });
        const c = confinementOf(r.stdout);
        expect(c.CapEff).toBe(NO_CAPS);
        expect(c.CapPrm).toBe(NO_CAPS);
        expect([DEFAULT_MASK, DEFAULT_MASK_WITHOUT_MKNOD]).toContain(c.CapBnd);
      });

      it('no_new_privs keeps a setuid binary from raising privileges', async () => {
        const plain = await withProbe({ args: ['/probe', 'euid'], user: { uid: 1000, gid: 1000 } }, true);
        expect(plain.stdout).toBe('euid: 0\n');
        const nnp = await withProbe(
          { args: ['/probe', 'euid'], user: { uid: 1000, gid: 1000 }, noNewPrivileges: true },
          true,
        );
        expect(nnp.stdout).toBe('euid: 1000\n');
        const status = await run({
          args: ['grep', 'NoNewPrivs', '/proc/self/status'],
          noNewPrivileges: true,
        });
        expect(status.stdout).toMatch(/NoNewPrivs:\s+1/);
      });

      it('applies rlimits', async () => {
        const r = await run({
          args: ['sh', '-c', 'ulimit -n; ulimit -Hn'],
          rlimits: [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }],
        });
        expect(r.stdout).toBe('321\n654\n');
      });

      it("sets namespaced sysctls in the container's own namespaces only", async () => {
        const r = await run({
          args: ['sh', '-c', 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni'],
          sysctl: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shmmni': '1234' },
        });
        expect(r.stdout).toBe('0\n1234\n');
        expect((await readFile('/proc/sys/kernel/shmmni', 'utf8')).trim()).not.toBe('1234');
      });

      it('exec inherits the capabilities, seccomp filter and no_new_privs of the container', async () => {
        const c = await start({
          args: ['sleep', '1000'],
          capabilities: ['CAP_CHOWN', 'CAP_KILL'],
          noNewPrivileges: true,
        });
        const r = await observe(
          await driver.exec(c.spec.id, processSpec(['cat', '/proc/self/status'])),
        ).finished();
        const status = confinementOf(r.stdout);
        expect(status.CapEff).toBe(capabilityMask(['CAP_CHOWN', 'CAP_KILL']));
        expect(status.Seccomp).toBe('2');
        expect(status.NoNewPrivs).toBe('1');
        const widened = await observe(
          await driver.exec(
            c.spec.id,
            processSpec(['cat', '/proc/self/status'], { capabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] }),
          ),
        ).finished();
        expect(confinementOf(widened.stdout).CapEff).toBe(capabilityMask(['CAP_CHOWN', 'CAP_SYS_ADMIN']));
      });

      it('leaks no file descriptor into the container (init and exec)', async () => {
        const c = await start({ args: ['sh', '-c', 'ls /proc/self/fd; echo ready; exec sleep 1000'] });
        await c.stdout.waitFor(/ready/);
        expect(c.stdout.text).toBe('0\n1\n2\n3\nready\n'); // 3 is ls's own directory
        const r = await observe(
          await driver.exec(c.spec.id, processSpec(['ls', '/proc/self/fd'])),
        ).finished();
        expect(r.stdout).toBe('0\n1\n2\n3\n');
      });

      it('never starts a process whose working directory is a host directory (CVE-2024-21626)', async () => {
        const marker = `host-marker-${randomBytes(4).toString('hex')}`;
        await writeFile(join(tmp, marker), 'host');
        for (let fd = 3; fd <= 12; fd++) {
          const spec = await prepare({
            args: ['sh', '-c', `cat ../../../../../../../../${tmp}/${marker} 2>/dev/null; pwd`],
          });
          spec.process.cwd = `/proc/self/fd/${fd}`;
          try {
            const r = await observe(await driver.start(spec)).finished();
            expect(r.stdout).not.toContain('host');
            expect(r.stdout).toMatch(/^\//);
          } catch (err) {
            expect(String(err)).not.toMatch(/host/);
          }
        }
      });

      it('resolves mount targets inside the rootfs, never through a symlink out of it', async () => {
        // Both links name a host path that does not exist: one absolute, one climbing above the
        // root. Followed on the host, the mounts would create and cover it there.
        const outside = join(tmp, `outside-${randomBytes(4).toString('hex')}`);
        const spec = await prepare({
          args: [
            'sh',
            '-c',
            `grep -c " ${outside}-abs " /proc/mounts; grep -c " ${outside}-rel " /proc/mounts; echo x > /rel/f && cat ${outside}-rel/f`,
          ],
          mounts: [
            { destination: '/abs', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] },
            { destination: '/rel', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] },
          ],
        });
        await symlink(`${outside}-abs`, join(spec.rootfs, 'abs'));
        await symlink(`../../../../../../../../../../..${outside}-rel`, join(spec.rootfs, 'rel'));
        const r = await observe(await driver.start(spec)).finished();
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('1\n1\nx\n');
        await expect(readFile(`${outside}-abs`)).rejects.toThrow(/ENOENT/);
        await expect(readFile(`${outside}-rel`)).rejects.toThrow(/ENOENT/);
      });

      it('refuses an image whose /proc is a symlink', async () => {
        const spec = await prepare({ args: ['true'] });
        await rm(join(spec.rootfs, 'proc'), { recursive: true });
        await mkdir(join(spec.rootfs, 'fakeproc'));
        await symlink('/fakeproc', join(spec.rootfs, 'proc'));
        await expect(driver.start(spec)).rejects.toThrow(/symlink/);
      });
    });

    it('closes twice without complaint', async () => {
      await driver.close();
      await driver.close();
    });
  });
}
