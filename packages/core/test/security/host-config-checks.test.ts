import { describe, expect, it } from 'vitest';
import { buildContainerSpec } from '../../src/container/container-spec.js';
import { verifySecurityConfig } from '../../src/security/container-security.js';
import { devicesFromMapping, parseDeviceCgroupRule } from '../../src/security/devices.js';
import { validateSysctls } from '../../src/security/sysctls.js';
import { mergeTmpfsOptions, tmpfsMounts, validateTmpfs } from '../../src/security/tmpfs.js';
import { daemonHardLimits, ulimitsToRlimits } from '../../src/security/ulimits.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max core file size        0                    unlimited            bytes
Max processes             96364                96364                processes
Max open files            20000                20000                files
`;

describe('--ulimit', () => {
  const hard = daemonHardLimits(LIMITS);

  it("reads the daemon's own hard limits", () => {
    expect(hard.get('nofile')).toBe(20000);
    expect(hard.get('core')).toBe(Number.POSITIVE_INFINITY);
  });

  it('turns ulimits into rlimits, the last of a name winning', () => {
    expect(
      ulimitsToRlimits(
        [
          { Name: 'nofile', Soft: 1024, Hard: 2048 },
          { Name: 'core', Soft: -1, Hard: -1 },
          { Name: 'nofile', Soft: 10, Hard: 20 },
        ],
        hard,
      ),
    ).toEqual([
      { type: 'RLIMIT_CORE', soft: -1, hard: -1 },
      { type: 'RLIMIT_NOFILE', soft: 10, hard: 20 },
    ]);
  });

  it("refuses unknown names, soft above hard, and anything above the daemon's hard limit", () => {
    expect(() => ulimitsToRlimits([{ Name: 'bogus', Soft: 1, Hard: 1 }], hard)).toThrow(
      'invalid ulimit type: bogus',
    );
    expect(() => ulimitsToRlimits([{ Name: 'nofile', Soft: 30, Hard: 20 }], hard)).toThrow(
      'ulimit soft limit must be less than or equal to hard limit: 30 > 20',
    );
    expect(() => ulimitsToRlimits([{ Name: 'nofile', Soft: 1024, Hard: 1048576 }], hard)).toThrow(
      "invalid ulimit nofile: the hard limit 1048576 is above the daemon's own hard limit (20000), which it cannot raise without CAP_SYS_RESOURCE",
    );
    expect(() => ulimitsToRlimits([{ Name: 'nofile', Soft: -1, Hard: -1 }], hard)).toThrow(
      /hard limit unlimited is above/,
    );
    expect(() => ulimitsToRlimits([{ Name: 'nofile', Soft: -5, Hard: 10 }], hard)).toThrow(
      /not a valid limit/,
    );
  });
});

describe('--sysctl', () => {
  const privateNs = { privateNetwork: true, privateIpc: true, privateUts: true };

  it('allows namespaced parameters only, with runc’s messages', () => {
    validateSysctls(
      {
        'net.ipv4.ip_forward': '1',
        'kernel.shmmax': '1',
        'fs.mqueue.msg_max': '5',
        'kernel.domainname': 'x',
      },
      privateNs,
    );
    expect(() => validateSysctls({ 'kernel.panic': '1' }, privateNs)).toThrow(
      'sysctl "kernel.panic" is not in a separate kernel namespace',
    );
    expect(() => validateSysctls({ 'vm.swappiness': '1' }, privateNs)).toThrow(
      /not in a separate kernel namespace/,
    );
    expect(() =>
      validateSysctls({ 'net.ipv4.ip_forward': '1' }, { ...privateNs, privateNetwork: false }),
    ).toThrow('sysctl "net.ipv4.ip_forward" is not allowed in the hosts network namespace');
    expect(() => validateSysctls({ 'kernel.hostname': 'x' }, privateNs)).toThrow(
      /conflicts with the OCI "hostname" field/,
    );
    expect(() => validateSysctls({ 'net/../../x': '1' }, privateNs)).toThrow(
      /not a valid kernel parameter name/,
    );
  });
});

describe('--tmpfs', () => {
  it("merges Docker's defaults with the user's options, later ones winning", () => {
    expect(
      mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', 'rw', 'exec', 'size=64m', 'size=1g']),
    ).toEqual(['nosuid', 'nodev', 'rprivate', 'rw', 'exec', 'size=1g']);
    expect(tmpfsMounts({ '/run': 'rw,size=65536k' })).toEqual([
      {
        destination: '/run',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'rw', 'size=65536k'],
      },
    ]);
  });

  it("refuses '/', relative paths and unknown options", () => {
    expect(() => validateTmpfs({ '/': '' })).toThrow("invalid specification: destination can't be '/'");
    expect(() => validateTmpfs({ run: '' })).toThrow("invalid mount path: 'run' mount path must be absolute");
    expect(() => validateTmpfs({ '/run': 'bogus=1' })).toThrow('Invalid tmpfs option ["bogus=1"]');
  });
});

describe('devices', () => {
  it('parses --device-cgroup-rule', () => {
    expect(parseDeviceCgroupRule('c 42:* rmw')).toEqual({ allow: true, type: 'c', major: 42, access: 'rmw' });
    expect(parseDeviceCgroupRule('a *:* r')).toEqual({ allow: true, type: 'a', access: 'r' });
    expect(() => parseDeviceCgroupRule('x 1:2 r')).toThrow("invalid device cgroup format 'x 1:2 r'");
  });

  it('maps a host device node (--device) to a node and a cgroup rule', () => {
    const { devices, rules } = devicesFromMapping({
      PathOnHost: '/dev/null',
      PathInContainer: '/dev/mynull',
      CgroupPermissions: 'rw',
    });
    expect(devices).toEqual([
      expect.objectContaining({ path: '/dev/mynull', type: 'c', major: 1, minor: 3 }),
    ]);
    expect(rules).toEqual([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }]);
    expect(() => devicesFromMapping({ PathOnHost: '/etc/hostname' })).toThrow(
      'error gathering device information while adding custom device "/etc/hostname": not a device node',
    );
    expect(() => devicesFromMapping({ PathOnHost: '/dev/does-not-exist' })).toThrow(
      /no such file or directory/,
    );
  });

  it('checks mappings at create', () => {
    expect(() =>
      verifySecurityConfig({ Devices: [{ PathOnHost: '/dev/null', CgroupPermissions: 'rwx' }] }),
    ).toThrow('invalid device mode: rwx');
    expect(() => verifySecurityConfig({ DeviceCgroupRules: ['c 1:3'] })).toThrow(
      /invalid device cgroup format/,
    );
  });
});

describe('the container spec', () => {
  const record = {
    ID: 'a'.repeat(64),
    Path: 'sh',
    Args: [],
    Config: { Env: [], Hostname: 'h' },
    ResolvConfPath: '/x/resolv.conf',
    HostnamePath: '/x/hostname',
    HostsPath: '/x/hosts',
  } as unknown as Parameters<typeof buildContainerSpec>[0]['record'];
  const user = { uid: 0, gid: 0, additionalGids: [], home: '/root' };

  it('carries the default confinement', () => {
    const spec = buildContainerSpec({ record, hostConfig: {}, rootfs: '/r', user });
    expect(spec.process.capabilities).toHaveLength(14);
    expect(spec.seccomp?.architectures).toContain('SCMP_ARCH_X86_64');
    expect(spec.resources.devices?.[0]).toEqual({ allow: false, type: 'a', access: 'rwm' });
    expect(spec.maskedPaths).toContain('/proc/kcore');
    expect(spec.mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options).toContain('ro');
  });

  it('a read-only root keeps /dev/shm and --tmpfs mounts writable; --tmpfs replaces a default mount', () => {
    const spec = buildContainerSpec({
      record,
      hostConfig: { ReadonlyRootfs: true, Tmpfs: { '/run': 'size=1m', '/dev/shm': 'size=2m' } },
      rootfs: '/r',
      user,
    });
    expect(spec.readonlyRootfs).toBe(true);
    const shm = spec.mounts.filter((m) => m.destination === '/dev/shm');
    expect(shm).toHaveLength(1);
    expect(shm[0]!.options).toContain('size=2m');
    expect(spec.mounts.find((m) => m.destination === '/run')?.options).not.toContain('ro');
  });

  it('--privileged: every capability we hold, no seccomp, writable cgroupfs and /sys', () => {
    const spec = buildContainerSpec({ record, hostConfig: { Privileged: true }, rootfs: '/r', user });
    expect(spec.seccomp).toBeUndefined();
    expect(spec.process.capabilities!.length).toBeGreaterThan(14);
    expect(spec.maskedPaths).toEqual([]);
    expect(spec.mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options).toContain('rw');
    expect(spec.mounts.find((m) => m.destination === '/sys')?.options).not.toContain('ro');
  });
});
