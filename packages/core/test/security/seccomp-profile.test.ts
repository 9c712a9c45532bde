import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../../src/security/capabilities.js';
import { containerSecurity } from '../../src/security/container-security.js';
import { DEFAULT_SECCOMP_PROFILE } from '../../src/security/seccomp/default-profile.js';
import { parseDockerSeccompProfile } from '../../src/security/seccomp/docker-profile.js';
import { resolveSeccompProfile } from '../../src/security/seccomp/resolve-profile.js';
import { parseSecurityOptions } from '../../src/security/security-options.js';

const amd64 = { goarch: 'amd64', kernelRelease: '6.18.44-fc-v782' };
const namesOf = (spec: ReturnType<typeof resolveSeccompProfile>) =>
  new Set(spec!.syscalls.flatMap((s) => s.names));

describe("Docker's default seccomp profile", () => {
  it('has the shape of moby/profiles seccomp/default.json', () => {
    expect(DEFAULT_SECCOMP_PROFILE.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(DEFAULT_SECCOMP_PROFILE.defaultErrnoRet).toBe(1);
    const rules = DEFAULT_SECCOMP_PROFILE.syscalls!;
    expect(rules[0]!.names).toHaveLength(361); // the unconditional allow list
    expect(new Set(rules[0]!.names).size).toBe(361);
    const everything = new Set(rules.flatMap((r) => r.names ?? []));
    for (const never of [
      'keyctl',
      'add_key',
      'request_key',
      'userfaultfd',
      'kexec_load',
      'io_uring_setup',
      'pivot_root',
      'swapon',
      'move_pages',
    ])
      expect(everything.has(never), never).toBe(false);
  });

  it('resolves for x86_64 with its sub-architectures and without the privileged rules', () => {
    const spec = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, {
      capabilities: DEFAULT_CAPABILITIES,
      ...amd64,
    })!;
    expect(spec.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const names = namesOf(spec);
    for (const n of ['read', 'ptrace', 'arch_prctl', 'modify_ldt', 'chroot', 'clone', 'clone3'])
      expect(names.has(n), n).toBe(true);
    for (const n of [
      'mount',
      'unshare',
      'setns',
      'bpf',
      'reboot',
      'open_by_handle_at',
      'set_tls',
      'swapcontext',
    ])
      expect(names.has(n), n).toBe(false);
    expect(spec.syscalls.find((s) => s.names.includes('clone3'))).toMatchObject({
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 38,
    });
    expect(spec.syscalls.find((s) => s.names.includes('clone'))!.args).toEqual([
      { index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' },
    ]);
  });

  it('follows capabilities, kernel version and architecture', () => {
    const admin = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, {
      capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'],
      ...amd64,
    })!;
    expect(namesOf(admin).has('mount')).toBe(true);
    expect(admin.syscalls.some((s) => s.names.includes('clone') && s.args)).toBe(false);
    expect(admin.syscalls.some((s) => s.names.includes('clone3') && s.action === 'SCMP_ACT_ERRNO')).toBe(
      false,
    );
    const old = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, {
      capabilities: [],
      goarch: 'amd64',
      kernelRelease: '4.4.0',
    })!;
    expect(namesOf(old).has('ptrace')).toBe(false);
    const arm = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, {
      capabilities: [],
      goarch: 'arm64',
      kernelRelease: '6.1',
    })!;
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(namesOf(arm).has('set_tls')).toBe(true);
    expect(namesOf(arm).has('arch_prctl')).toBe(false);
  });

  it("refuses malformed profiles with moby's messages", () => {
    expect(() => parseDockerSeccompProfile('{not json')).toThrow(/^Decoding seccomp profile failed: /);
    expect(() => parseDockerSeccompProfile('{"defaultAction":"SCMP_ACT_BOGUS"}')).toThrow(
      /Decoding seccomp profile failed: defaultAction/,
    );
    const both = parseDockerSeccompProfile(
      '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}',
    );
    expect(() => resolveSeccompProfile(both, { capabilities: [], ...amd64 })).toThrow(
      "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
    const nameAndNames = parseDockerSeccompProfile(
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"read","names":["write"],"action":"SCMP_ACT_ERRNO"}]}',
    );
    expect(() => resolveSeccompProfile(nameAndNames, { capabilities: [], ...amd64 })).toThrow(
      "use either 'name' or 'names'",
    );
    expect(
      resolveSeccompProfile(parseDockerSeccompProfile('{}'), { capabilities: [], ...amd64 }),
    ).toBeUndefined();
  });
});

describe('--security-opt', () => {
  it('parses no-new-privileges, seccomp and the tolerated label/apparmor options', () => {
    expect(parseSecurityOptions(['no-new-privileges'])).toMatchObject({ noNewPrivileges: true });
    expect(parseSecurityOptions(['no-new-privileges=false'])).toMatchObject({ noNewPrivileges: false });
    expect(parseSecurityOptions(['seccomp=unconfined'])).toMatchObject({ seccompProfile: 'unconfined' });
    expect(parseSecurityOptions(['seccomp:builtin'])).toMatchObject({ seccompProfile: 'builtin' });
    expect(parseSecurityOptions(['apparmor=unconfined', 'label=disable'])).toMatchObject({
      apparmorProfile: 'unconfined',
    });
  });

  it("refuses unknown options and bad profiles with Docker's messages", () => {
    expect(() => parseSecurityOptions(['foo'])).toThrow('invalid --security-opt 1: "foo"');
    expect(() => parseSecurityOptions(['foo=bar'])).toThrow('invalid --security-opt 2: "foo=bar"');
    expect(() => parseSecurityOptions(['no-new-privileges=maybe'])).toThrow(
      'invalid --security-opt 2: "no-new-privileges=maybe"',
    );
    expect(() => parseSecurityOptions(['seccomp={"defaultAction":1}'])).toThrow(
      /Decoding seccomp profile failed/,
    );
  });
});

describe('a container’s confinement', () => {
  it('defaults: the default profile, Docker’s capabilities, deny-all device rules', () => {
    const s = containerSecurity({});
    expect(s.capabilities).toEqual(DEFAULT_CAPABILITIES);
    expect(s.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(s.noNewPrivileges).toBe(false);
    expect(s.deviceRules[0]).toEqual({ allow: false, type: 'a', access: 'rwm' });
    expect(s.maskedPaths).toBeUndefined();
    expect(s.sysctl).toEqual({
      'net.ipv4.ping_group_range': '0 2147483647',
      'net.ipv4.ip_unprivileged_port_start': '0',
    });
    expect(s.writableCgroups).toBe(false);
  });

  it('--privileged: no seccomp, no masked paths, every device, writable sysfs and cgroupfs', () => {
    const s = containerSecurity({ Privileged: true, SecurityOpt: ['seccomp=builtin'] });
    expect(s.seccomp).toBeUndefined();
    expect(s.maskedPaths).toEqual([]);
    expect(s.readonlyPaths).toEqual([]);
    expect(s.deviceRules.at(-1)).toEqual({ allow: true, type: 'a', access: 'rwm' });
    expect(s.devices.some((d) => d.path === '/dev/null')).toBe(true);
    expect(s.writableSysfs && s.writableCgroups).toBe(true);
  });

  it('seccomp=unconfined, a custom profile, no-new-privileges, host network', () => {
    expect(containerSecurity({ SecurityOpt: ['seccomp=unconfined'] }).seccomp).toBeUndefined();
    const custom = containerSecurity({
      SecurityOpt: [
        'seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}',
      ],
    });
    expect(custom.seccomp).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: [],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
    });
    expect(containerSecurity({ SecurityOpt: ['no-new-privileges'] }).noNewPrivileges).toBe(true);
    expect(containerSecurity({ NetworkMode: 'host' }).sysctl).toEqual({});
  });
});
