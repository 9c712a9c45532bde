/**
 * Issue 5's confinement acceptance, end to end: the stock docker CLI against a real tsdocker
 * daemon, everything checked from inside the containers (capabilities, seccomp, masked and
 * read-only paths, devices, no_new_privs, read-only root, ulimits, sysctls, fd hygiene, the
 * working directory and symlinked mount targets).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capabilityMask, DEFAULT_CAPABILITIES } from '@tsdocker/core';
import { buildSyscallProbe, makeBusyboxRootfs } from '@tsdocker/core/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonHandle, startDaemon } from '../helpers/daemon.js';

let d: DaemonHandle;
let work = '';

const DEFAULT_MASK = capabilityMask(DEFAULT_CAPABILITIES); // 00000000a80425fb

/** Builds a busybox rootfs with the syscall probe (plain and setuid root), changes it, imports it. */
async function importImage(tag: string, change: (root: string) => void = () => {}): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'tsd-secimg-'));
  try {
    await makeBusyboxRootfs(root);
    copyFileSync(join(work, 'probe'), join(root, 'probe'));
    chmodSync(join(root, 'probe'), 0o755);
    copyFileSync(join(work, 'probe'), join(root, 'probe-suid'));
    chmodSync(join(root, 'probe-suid'), 0o4755);
    change(root);
    const tar = join(work, `${tag.replace(/\W/g, '_')}.tar`);
    execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.']);
    ok(d.docker(['import', '--change', 'CMD ["sh"]', tar, tag]));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsd-security-'));
  await buildSyscallProbe(join(work, 'probe'));
  d = await startDaemon();
  await importImage('secbox:latest');
});

afterAll(async () => {
  try {
    if (d) {
      const left = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (left.length) d.docker(['rm', '-f', ...left]);
      await d.stop();
    }
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
});

function ok(r: ReturnType<DaemonHandle['docker']>): string {
  if (r.status !== 0)
    throw new Error(`docker exited ${r.status}: ${r.stderr}\n--- daemon log ---\n${d.logs().slice(-4000)}`);
  return r.stdout;
}

/** `docker run --rm <flags> secbox <cmd>`; returns stdout (and fails on a non-zero exit). */
const run = (flags: string[], cmd: string[]) => ok(d.docker(['run', '--rm', ...flags, 'secbox', ...cmd]));
const sh = (flags: string[], script: string) => run(flags, ['sh', '-c', script]);

function status(text: string): Record<string, string> {
  return Object.fromEntries(
    [...text.matchAll(/^(Cap\w+|Seccomp|NoNewPrivs):\s*(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

function probe(flags: string[], tests: string[]): Record<string, string> {
  const out = run(flags, ['/probe', ...tests]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(': ') as [string, string]),
  );
}

const ownBoundingMask = () => /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;

describe('a default container', () => {
  it("has Docker's capabilities, empty inheritable and ambient sets, and seccomp mode 2", () => {
    expect(status(run([], ['cat', '/proc/self/status']))).toEqual({
      CapInh: '0000000000000000',
      CapPrm: DEFAULT_MASK,
      CapEff: DEFAULT_MASK,
      CapBnd: DEFAULT_MASK,
      CapAmb: '0000000000000000',
      NoNewPrivs: '0',
      Seccomp: '2',
    });
  });

  it('reads every masked path as empty or not at all', () => {
    const out = sh(
      [],
      'for p in /proc/acpi /proc/asound /proc/interrupts /proc/kcore /proc/keys /proc/latency_stats /proc/sched_debug /proc/scsi /proc/timer_list /proc/timer_stats /sys/devices/virtual/powercap /sys/firmware; do if [ -d $p ]; then echo "$p $(ls -A $p | wc -l)"; elif [ -e $p ]; then echo "$p $(cat $p 2>/dev/null | wc -c)"; fi; done',
    );
    for (const line of out.trim().split('\n').filter(Boolean)) expect(line).toMatch(/ 0$/);
    if (existsSync('/proc/kcore')) expect(out).toMatch(/\/proc\/kcore 0/);
    expect(out).toMatch(/\/proc\/keys 0/);
  });

  it('cannot write to read-only paths', () => {
    const out = sh(
      [],
      'for f in /proc/sys/kernel/hostname /proc/sysrq-trigger /proc/sys/vm/drop_caches /sys/kernel/uevent_helper /sys/class/net/lo/mtu; do if (echo 1 > $f) 2>/dev/null; then echo "wrote $f"; fi; done; mkdir /sys/fs/cgroup/x 2>/dev/null && echo "cgroupfs writable"; echo checked',
    );
    expect(out).toBe('checked\n');
  });

  it('can mknod a block device but not open it', () => {
    const out = sh([], 'mknod /tmp/sda b 8 0 && echo made; head -c1 /tmp/sda 2>&1 >/dev/null; true');
    expect(out).toMatch(/^made\n.*Operation not permitted/);
  });

  it('refuses unshare, mount, keyctl and io_uring_setup', () => {
    expect(sh([], 'mkdir -p /mnt; unshare -r true 2>&1; mount -t tmpfs none /mnt 2>&1; true')).toMatch(
      /unshare: unshare\(0x10000000\): Operation not permitted[\s\S]*mount: permission denied/,
    );
    expect(probe([], ['keyctl', 'io_uring_setup', 'unshare-mount', 'mount', 'clone3', 'socket-alg'])).toEqual(
      {
        keyctl: 'EPERM',
        io_uring_setup: 'EPERM',
        'unshare-mount': 'EPERM',
        mount: 'EPERM',
        clone3: 'ENOSYS',
        'socket-alg': 'EPERM',
      },
    );
  });

  it('sees only fds 0, 1 and 2 (plus the one ls opens), in run and in exec', () => {
    expect(run([], ['ls', '/proc/self/fd'])).toBe('0\n1\n2\n3\n');
    const id = ok(d.docker(['run', '-d', 'secbox', 'sleep', '1000'])).trim();
    expect(ok(d.docker(['exec', id, 'ls', '/proc/self/fd']))).toBe('0\n1\n2\n3\n');
    expect(status(ok(d.docker(['exec', id, 'cat', '/proc/self/status'])))).toMatchObject({
      CapEff: DEFAULT_MASK,
      Seccomp: '2',
    });
    ok(d.docker(['rm', '-f', id]));
  });
});

describe('--privileged', () => {
  it('lifts the confinement: every capability the daemon holds, no seccomp, mount works', () => {
    const out = sh(
      ['--privileged'],
      'grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status; mkdir -p /mnt; mount -t tmpfs none /mnt && echo mounted; unshare -r true && echo unshared; cat /proc/kcore | head -c 4 | wc -c',
    );
    const s = status(out);
    expect(s.CapEff).toBe(ownBoundingMask());
    expect(s.CapBnd).toBe(ownBoundingMask());
    expect(s.Seccomp).toBe('0');
    expect(out).toMatch(/mounted\nunshared\n/);
  });

  it('gets the host devices, a writable /sys and cgroupfs, and no masked or read-only paths', () => {
    // Checked through /proc/mounts: writing there from a privileged container would change the host.
    const out = sh(
      ['--privileged'],
      'ls /dev | grep -c .; grep -E " (/sys|/sys/fs/cgroup/pids) " /proc/mounts | cut -d" " -f2,4 | cut -d, -f1; grep -cE " /proc/(keys|sys|kcore|timer_list) " /proc/mounts; true',
    );
    const [devices, ...rest] = out.trim().split('\n');
    expect(Number(devices)).toBeGreaterThan(8); // more than the default few
    expect(rest).toEqual(['/sys rw', '/sys/fs/cgroup/pids rw', '0']);
    expect(sh([], 'grep -E " /sys/fs/cgroup/pids " /proc/mounts | cut -d" " -f4 | cut -d, -f1')).toBe('ro\n');
  });
});

describe('exec --privileged and docker info', () => {
  it('exec --privileged gets every capability; the container keeps its seccomp filter', () => {
    const id = ok(d.docker(['run', '-d', 'secbox', 'sleep', '60'])).trim();
    try {
      const plain = status(ok(d.docker(['exec', id, 'cat', '/proc/self/status'])));
      expect(plain.CapEff).toBe(DEFAULT_MASK);
      const priv = status(ok(d.docker(['exec', '--privileged', id, 'cat', '/proc/self/status'])));
      expect(priv.CapEff).toBe(ownBoundingMask());
      expect(priv.Seccomp).toBe('2');
    } finally {
      d.docker(['rm', '-f', id]);
    }
  });

  it('docker info lists the built-in seccomp profile', () => {
    expect(ok(d.docker(['info', '--format', '{{json .SecurityOptions}}']))).toContain(
      'name=seccomp,profile=builtin',
    );
  });
});

describe('capabilities', () => {
  it('--cap-drop ALL --cap-add NET_RAW keeps exactly NET_RAW', () => {
    const s = status(run(['--cap-drop', 'ALL', '--cap-add', 'NET_RAW'], ['cat', '/proc/self/status']));
    expect(s.CapEff).toBe('0000000000002000');
    expect(s.CapBnd).toBe('0000000000002000');
    expect(s.CapInh).toBe('0000000000000000');
  });

  it('--cap-drop MKNOD takes mknod away; --cap-add SYS_ADMIN lets the profile allow mount', () => {
    expect(sh(['--cap-drop', 'MKNOD'], 'mknod /tmp/x c 1 3 2>&1; true')).toMatch(/Operation not permitted/);
    expect(sh(['--cap-add', 'SYS_ADMIN'], 'mkdir -p /mnt; mount -t tmpfs none /mnt && echo mounted')).toBe(
      'mounted\n',
    );
  });

  it("refuses an unknown capability with Docker's message and creates nothing", () => {
    const before = ok(d.docker(['ps', '-aq']));
    const r = d.docker(['run', '--rm', '--cap-add', 'FOO', 'secbox', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('invalid CapAdd: unknown capability: "CAP_FOO"');
    expect(ok(d.docker(['ps', '-aq']))).toBe(before);
  });
});

describe('--security-opt', () => {
  it('seccomp=unconfined removes the filter but not the capability checks', () => {
    const out = sh(
      ['--security-opt', 'seccomp=unconfined'],
      'grep Seccomp: /proc/self/status; mkdir -p /mnt; mount -t tmpfs none /mnt 2>&1; true',
    );
    expect(out).toMatch(/Seccomp:\s+0\n.*permission denied/);
  });

  it('seccomp=<file> applies a custom profile', () => {
    const profile = join(work, 'no-mkdir.json');
    writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
      }),
    );
    const out = sh(
      ['--security-opt', `seccomp=${profile}`],
      'grep Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; true',
    );
    expect(out).toMatch(/Seccomp:\s+2\n.*Permission denied/);
  });

  it("refuses a broken profile and an unknown option with Docker's messages", () => {
    const broken = join(work, 'broken.json');
    writeFileSync(broken, '{"defaultAction": "SCMP_ACT_NOPE"}');
    const r = d.docker(['run', '--rm', '--security-opt', `seccomp=${broken}`, 'secbox', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('Decoding seccomp profile failed');
    const bad = d.docker(['run', '--rm', '--security-opt', 'foo=bar', 'secbox', 'true']);
    expect(bad.stderr).toContain('invalid --security-opt 2: "foo=bar"');
  });

  it('no-new-privileges keeps a setuid binary from raising privileges', () => {
    expect(run(['--user', '1000:1000'], ['/probe-suid', 'euid'])).toBe('euid: 0\n');
    expect(run(['--user', '1000:1000', '--security-opt', 'no-new-privileges'], ['/probe-suid', 'euid'])).toBe(
      'euid: 1000\n',
    );
    expect(run(['--security-opt', 'no-new-privileges'], ['grep', 'NoNewPrivs', '/proc/self/status'])).toMatch(
      /NoNewPrivs:\s+1/,
    );
  });
});

describe('users, read-only root, ulimits, sysctls, devices', () => {
  it('--user and --group-add', () => {
    expect(run(['--user', '1000:1000', '--group-add', '5', '--group-add', '4242'], ['id'])).toMatch(
      /^uid=1000 gid=1000 groups=.*\b5\b.*\b4242\b/,
    );
    const s = status(run(['--user', '1000'], ['cat', '/proc/self/status']));
    expect(s.CapEff).toBe('0000000000000000');
    expect(s.CapBnd).toBe(DEFAULT_MASK);
  });

  it('--read-only with --tmpfs: only the tmpfs, /dev/shm and /tmp-less paths are writable', () => {
    const out = sh(
      ['--read-only', '--tmpfs', '/run:rw,size=1m'],
      'touch /x 2>/dev/null && echo root-writable; touch /run/x && echo run-ok; touch /dev/shm/x && echo shm-ok; grep " /run " /proc/mounts',
    );
    expect(out).toMatch(/^run-ok\nshm-ok\ntmpfs \/run tmpfs rw,nosuid,nodev,noexec,.*size=1024k/);
  });

  it("--ulimit within the daemon's limits applies; above them is a clear 400", () => {
    expect(sh(['--ulimit', 'nofile=512:1024'], 'ulimit -n; ulimit -Hn')).toBe('512\n1024\n');
    const before = ok(d.docker(['ps', '-aq']));
    const r = d.docker(['run', '--rm', '--ulimit', 'nofile=1024:1048576', 'secbox', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain("the hard limit 1048576 is above the daemon's own hard limit");
    expect(ok(d.docker(['ps', '-aq']))).toBe(before);
  });

  it('--sysctl sets namespaced parameters and refuses the rest', () => {
    expect(
      sh(
        ['--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'kernel.shmmni=1234'],
        'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni',
      ),
    ).toBe('1\n1234\n');
    expect(sh([], 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start')).toBe('0\n');
    const r = d.docker([
      'run',
      '--rm',
      '--network',
      'host',
      '--sysctl',
      'net.ipv4.ip_forward=1',
      'secbox',
      'true',
    ]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('sysctl "net.ipv4.ip_forward" is not allowed in the hosts network namespace');
  });

  it('--device and --device-cgroup-rule', () => {
    expect(sh(['--device', '/dev/null:/dev/mynull:rw'], 'echo x > /dev/mynull && echo ok')).toBe('ok\n');
    const rule = sh(
      ['--device-cgroup-rule', 'b 8:0 r'],
      'mknod /tmp/sda b 8 0; head -c1 /tmp/sda 2>&1 >/dev/null; true',
    );
    expect(rule).not.toMatch(/Operation not permitted/);
    const r = d.docker(['run', '--rm', '--device', '/dev/no-such-device', 'secbox', 'true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      'error gathering device information while adding custom device "/dev/no-such-device"',
    );
  });
});

describe('breakouts', () => {
  it('a working directory through a leaked fd never reaches the host (CVE-2024-21626)', () => {
    const marker = join(work, 'host-marker');
    writeFileSync(marker, 'host-secret');
    for (let fd = 3; fd <= 10; fd++) {
      const r = d.docker([
        'run',
        '--rm',
        '-w',
        `/proc/self/fd/${fd}`,
        'secbox',
        'sh',
        '-c',
        `cat ../../../../../../..${marker} 2>/dev/null; pwd`,
      ]);
      expect(r.stdout).not.toContain('host-secret');
    }
    const id = ok(d.docker(['run', '-d', 'secbox', 'sleep', '1000'])).trim();
    for (let fd = 3; fd <= 10; fd++) {
      const r = d.docker([
        'exec',
        '-w',
        `/proc/self/fd/${fd}`,
        id,
        'sh',
        '-c',
        `cat ../../../../../../..${marker} 2>/dev/null`,
      ]);
      expect(r.stdout).not.toContain('host-secret');
    }
    ok(d.docker(['rm', '-f', id]));
  });

  it('an image whose /dev is a symlink to / gets a real /dev inside its root', async () => {
    await importImage('devlink:latest', (root) => {
      rmSync(join(root, 'dev'), { recursive: true, force: true });
      symlinkSync('/', join(root, 'dev'));
    });
    const out = ok(
      d.docker([
        'run',
        '--rm',
        'devlink',
        'sh',
        '-c',
        'grep " /dev " /proc/mounts; ls /dev/null && ls /bin/sh',
      ]),
    );
    expect(out).toMatch(/^tmpfs \/dev tmpfs /);
    expect(out).toMatch(/\/dev\/null\n\/bin\/sh\n$/);
  });

  it('a symlinked mount target resolves inside the rootfs', async () => {
    const outside = join(work, 'escape-target');
    await importImage('mountlink:latest', (root) => {
      symlinkSync(outside, join(root, 'data'));
    });
    const out = ok(
      d.docker([
        'run',
        '--rm',
        '--tmpfs',
        '/data',
        'mountlink',
        'sh',
        '-c',
        `echo x > /data/f; grep -c " ${outside} " /proc/mounts; cat ${outside}/f`,
      ]),
    );
    expect(out).toBe('1\nx\n');
    expect(existsSync(outside)).toBe(false);
  });
});
