import { buildTestSpec } from '@tsdocker/core/testkit';
import { describe, expect, it } from 'vitest';
import { decodeSpec, encodeExecSpec, encodeRunSpec, SPEC_VERSION } from '../src/shim-spec.js';

const supervision = {
  cgroupJoin: ['/sys/fs/cgroup/memory/tsdocker/c1/tasks', '/sys/fs/cgroup/pids/tsdocker/c1/tasks'],
  oomEvents: '/sys/fs/cgroup/memory/tsdocker/c1/memory.oom_control',
  exitFile: '/run/tsdocker/native/c1/exit',
  capabilities: [0, 1, 31],
};

const values = (records: Array<[string, string]>, key: string) =>
  records.filter(([k]) => k === key).map(([, v]) => v);

describe('run spec file', () => {
  const spec = buildTestSpec({
    id: 'c1',
    rootfs: '/var/lib/tsdocker/rootfs',
    args: ['sh', '-c', 'echo "a=b"\nexit 3'],
    env: ['MULTI=line one\nline two'],
    user: { uid: 33, gid: 33, additionalGids: [5, 1234] },
    hostname: 'box',
    terminal: true,
    consoleSize: { rows: 24, cols: 80 },
  });
  const records = decodeSpec(encodeRunSpec(spec, supervision));

  it('starts with the version and keeps values with =, spaces and newlines intact', () => {
    expect(records[0]).toEqual(['version', SPEC_VERSION]);
    expect(values(records, 'arg')).toEqual(['sh', '-c', 'echo "a=b"\nexit 3']);
    expect(values(records, 'env')).toContain('MULTI=line one\nline two');
  });

  it('carries the process, user and terminal', () => {
    expect(values(records, 'uid')).toEqual(['33']);
    expect(values(records, 'gid.add')).toEqual(['5', '1234']);
    expect(values(records, 'terminal')).toEqual(['1']);
    expect(values(records, 'rows')).toEqual(['24']);
    expect(values(records, 'cols')).toEqual(['80']);
    expect(values(records, 'hostname')).toEqual(['box']);
  });

  it('encodes namespaces as new (empty path) or joined (path)', () => {
    const joined = decodeSpec(
      encodeRunSpec(
        { ...spec, namespaces: [{ type: 'mount' }, { type: 'network', path: '/run/netns/n1' }] },
        supervision,
      ),
    );
    expect(values(joined, 'ns.mnt')).toEqual(['']);
    expect(values(joined, 'ns.net')).toEqual(['/run/netns/n1']);
    expect(values(joined, 'ns.pid')).toEqual([]);
  });

  it('lists mounts in order, each followed by its fields', () => {
    const first = records.findIndex(([k, v]) => k === 'mount' && v === '/proc');
    expect(records.slice(first, first + 6)).toEqual([
      ['mount', '/proc'],
      ['mount.type', 'proc'],
      ['mount.source', 'proc'],
      ['mount.option', 'nosuid'],
      ['mount.option', 'noexec'],
      ['mount.option', 'nodev'],
    ]);
    expect(values(records, 'mount')).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/sys',
      '/dev/mqueue',
      '/dev/shm',
    ]);
  });

  it('writes device modes as decimal permission bits', () => {
    const at = records.findIndex(([k, v]) => k === 'device' && v === '/dev/null');
    expect(records.slice(at, at + 7)).toEqual([
      ['device', '/dev/null'],
      ['device.type', 'c'],
      ['device.major', '1'],
      ['device.minor', '3'],
      ['device.mode', String(0o666)],
      ['device.uid', '0'],
      ['device.gid', '0'],
    ]);
  });

  it('carries the supervision details', () => {
    expect(values(records, 'cgroup.join')).toEqual(supervision.cgroupJoin);
    expect(values(records, 'oom_events')).toEqual([supervision.oomEvents]);
    expect(values(records, 'exit_file')).toEqual([supervision.exitFile]);
    expect(values(records, 'caps')).toEqual(['0,1,31']);
    expect(values(records, 'masked')).toContain('/proc/kcore');
    expect(values(records, 'readonly')).toContain('/proc/sys');
  });

  it('refuses NUL bytes, relative paths and bad ids', () => {
    expect(() => encodeRunSpec({ ...spec, hostname: 'a\0b' }, supervision)).toThrow(/NUL/);
    expect(() => encodeRunSpec({ ...spec, rootfs: 'relative' }, supervision)).toThrow(/absolute/);
    expect(() => encodeRunSpec({ ...spec, process: { ...spec.process, cwd: 'tmp' } }, supervision)).toThrow(
      /absolute/,
    );
    expect(() => encodeRunSpec({ ...spec, process: { ...spec.process, args: [] } }, supervision)).toThrow(
      /No command/,
    );
    expect(() =>
      encodeRunSpec(
        { ...spec, process: { ...spec.process, user: { uid: -1, gid: 0, additionalGids: [] } } },
        supervision,
      ),
    ).toThrow(/Invalid uid/);
  });
});

describe('confinement records', () => {
  const spec = buildTestSpec({ id: 'c1', rootfs: '/r', args: ['true'] });

  it('carries no_new_privs, the seccomp program, rlimits and sysctls', () => {
    const records = decodeSpec(
      encodeRunSpec(
        { ...spec, sysctl: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shmmax': '1 2' } },
        {
          ...supervision,
          noNewPrivileges: true,
          seccompFile: '/run/x/seccomp.bpf',
          seccompFlags: 2,
          rlimits: [
            { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
            { type: 'RLIMIT_CORE', soft: -1, hard: -1 },
          ],
        },
      ),
    );
    expect(values(records, 'no_new_privs')).toEqual(['1']);
    expect(values(records, 'seccomp')).toEqual(['/run/x/seccomp.bpf']);
    expect(values(records, 'seccomp.flags')).toEqual(['2']);
    expect(values(records, 'rlimit')).toEqual(['7', '4']);
    expect(values(records, 'rlimit.soft')).toEqual(['1024', 'unlimited']);
    expect(values(records, 'rlimit.hard')).toEqual(['2048', 'unlimited']);
    expect(values(records, 'sysctl')).toEqual(['net.ipv4.ip_unprivileged_port_start', 'kernel.shmmax']);
    expect(values(records, 'sysctl.value')).toEqual(['0', '1 2']);
  });

  it('leaves them out when not asked for', () => {
    const records = decodeSpec(encodeRunSpec({ ...spec, sysctl: {} }, supervision));
    for (const key of ['no_new_privs', 'seccomp', 'rlimit', 'sysctl'])
      expect(values(records, key)).toEqual([]);
  });

  it('refuses unknown rlimits and sysctl names that could leave /proc/sys', () => {
    expect(() =>
      encodeRunSpec(spec, { ...supervision, rlimits: [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }] }),
    ).toThrow(/Unknown rlimit/);
    expect(() => encodeRunSpec({ ...spec, sysctl: { '../../etc/x': '1' } }, supervision)).toThrow(
      /Invalid sysctl/,
    );
    expect(() => encodeRunSpec({ ...spec, sysctl: { 'net/ipv4/x': '1' } }, supervision)).toThrow(
      /Invalid sysctl/,
    );
  });
});

describe('exec spec file', () => {
  it('names the target process and carries no container-wide fields', () => {
    const records = decodeSpec(
      encodeExecSpec(
        'c1',
        4242,
        {
          args: ['ls'],
          env: ['PATH=/bin'],
          cwd: '/tmp',
          user: { uid: 0, gid: 0, additionalGids: [] },
          terminal: false,
          openStdin: true,
        },
        { cgroupJoin: supervision.cgroupJoin, capabilities: [0] },
      ),
    );
    expect(values(records, 'target_pid')).toEqual(['4242']);
    expect(values(records, 'open_stdin')).toEqual(['1']);
    expect(values(records, 'rootfs')).toEqual([]);
    expect(values(records, 'mount')).toEqual([]);
    expect(values(records, 'exit_file')).toEqual([]);
  });
});
