/**
 * The seccomp compiler, checked by running its BPF on seccomp_data in an interpreter: Docker's
 * default profile decides each syscall as libseccomp's filter would.
 */
import {
  allCapabilities,
  DEFAULT_CAPABILITIES,
  DEFAULT_SECCOMP_PROFILE,
  resolveSeccompProfile,
  type SeccompSpec,
} from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { BpfAssembler } from '../src/seccomp/bpf.js';
import { compileSeccomp, compileSeccompCached } from '../src/seccomp/compile-seccomp.js';
import { SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64 } from '../src/seccomp/syscall-tables.js';
import { type Abi, runFilter, SECCOMP_RET } from './bpf-interpreter.js';

const TABLES = { x86_64: SYSCALLS_X86_64, x86: SYSCALLS_X86, x32: SYSCALLS_X32 };
const EPERM = SECCOMP_RET.errno(1);
const ENOSYS = SECCOMP_RET.errno(38);

function program(capabilities: readonly string[] = DEFAULT_CAPABILITIES, kernelRelease = '6.18.0'): Buffer {
  const spec = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, {
    capabilities,
    goarch: 'amd64',
    kernelRelease,
  });
  return compileSeccomp(spec!).program;
}

function decide(prog: Buffer, abi: Abi, name: string, args: Array<number | bigint> = []): number {
  const nr = TABLES[abi][name];
  if (nr === undefined) throw new Error(`${name} has no number on ${abi}`);
  return runFilter(prog, abi, nr & ~0x40000000, args);
}

describe('the syscall tables', () => {
  it('number the usual suspects as the kernel does', () => {
    expect(SYSCALLS_X86_64).toMatchObject({ read: 0, clone: 56, mount: 165, unshare: 272, clone3: 435 });
    expect(SYSCALLS_X86).toMatchObject({ read: 3, socketcall: 102, mount: 21, socket: 359 });
    expect(SYSCALLS_X32.read).toBe(0x40000000);
    expect(SYSCALLS_X32.rt_sigaction).toBe(0x40000000 + 512);
    expect(SYSCALLS_X86_64.open_tree_attr).toBe(467);
  });
});

describe("Docker's default profile, compiled", () => {
  const prog = program();

  it('fits the kernel limit and starts with the architecture check', () => {
    expect(prog.length / 8).toBeLessThanOrEqual(4096);
    expect(prog.readUInt16LE(0)).toBe(0x20);
    expect(prog.readUInt32LE(4)).toBe(4); // ld [arch]
  });

  it('allows ordinary syscalls on every x86 ABI', () => {
    for (const abi of ['x86_64', 'x86', 'x32'] as const)
      for (const name of ['read', 'write', 'openat', 'execve', 'exit_group', 'capset', 'setresuid'])
        expect(decide(prog, abi, name), `${abi} ${name}`).toBe(SECCOMP_RET.ALLOW);
  });

  it('refuses mount, unshare, setns, keyctl, io_uring and friends with EPERM', () => {
    for (const abi of ['x86_64', 'x86', 'x32'] as const)
      for (const name of [
        'mount',
        'umount2',
        'unshare',
        'setns',
        'keyctl',
        'add_key',
        'request_key',
        'io_uring_setup',
        'io_uring_enter',
        'bpf',
        'kexec_load',
        'pivot_root',
        'swapon',
        'userfaultfd',
        'open_by_handle_at',
        'init_module',
        'reboot',
      ])
        expect(decide(prog, abi, name), `${abi} ${name}`).toBe(EPERM);
  });

  it('returns ENOSYS for clone3 (libc falls back to clone)', () => {
    expect(decide(prog, 'x86_64', 'clone3')).toBe(ENOSYS);
    expect(decide(prog, 'x86', 'clone3')).toBe(ENOSYS);
  });

  it('returns ENOSYS for syscalls newer than any the profile names', () => {
    expect(decide(prog, 'x86_64', 'open_tree_attr')).toBe(ENOSYS);
    expect(runFilter(prog, 'x86_64', 999)).toBe(ENOSYS);
  });

  it('allows clone without namespace flags only (masked equality)', () => {
    expect(decide(prog, 'x86_64', 'clone', [0x01200011])).toBe(SECCOMP_RET.ALLOW); // fork's flags
    expect(decide(prog, 'x86_64', 'clone', [0x10000000])).toBe(EPERM); // CLONE_NEWUSER
    expect(decide(prog, 'x86_64', 'clone', [0x40000000])).toBe(EPERM); // CLONE_NEWNET
    expect(decide(prog, 'x86_64', 'clone', [0x00020000])).toBe(EPERM); // CLONE_NEWNS
    // The mask covers the low word only: high bits of the 64-bit flags do not matter.
    expect(decide(prog, 'x86_64', 'clone', [0x1_0000_0011n])).toBe(SECCOMP_RET.ALLOW);
    expect(decide(prog, 'x86', 'clone', [0x10000000])).toBe(EPERM);
  });

  it('allows socket for the listed address families only', () => {
    for (const family of [1, 2, 10, 16, 17])
      expect(decide(prog, 'x86_64', 'socket', [family])).toBe(SECCOMP_RET.ALLOW);
    for (const family of [12, 38, 40, 46, 0x1_0000_0002n])
      expect(decide(prog, 'x86_64', 'socket', [family]), String(family)).toBe(EPERM);
  });

  it('allows personality for the listed values only, compared on 64 bits', () => {
    for (const p of [0, 8, 0x20000, 0x20008, 0xffffffff])
      expect(decide(prog, 'x86_64', 'personality', [p])).toBe(SECCOMP_RET.ALLOW);
    expect(decide(prog, 'x86_64', 'personality', [0x0040000])).toBe(EPERM); // ADDR_NO_RANDOMIZE
    expect(decide(prog, 'x86_64', 'personality', [0xffffffffffffffffn])).toBe(EPERM);
  });

  it('allows arch_prctl on x86_64 only and ptrace from kernel 4.8', () => {
    expect(decide(prog, 'x86_64', 'arch_prctl')).toBe(SECCOMP_RET.ALLOW);
    expect(decide(prog, 'x86_64', 'ptrace')).toBe(SECCOMP_RET.ALLOW);
    expect(decide(program(DEFAULT_CAPABILITIES, '4.4.0'), 'x86_64', 'ptrace')).toBe(EPERM);
  });

  it('kills a process calling from an architecture the filter does not cover', () => {
    const AUDIT_ARCH_AARCH64 = 0xc00000b7;
    expect(runFilter(prog, 'x86_64', 0, [], AUDIT_ARCH_AARCH64)).toBe(SECCOMP_RET.KILL_PROCESS);
  });

  it('follows the capabilities: CAP_SYS_ADMIN unlocks mount, unshare and clone3', () => {
    const admin = program([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
    for (const name of ['mount', 'unshare', 'setns', 'clone3'])
      expect(decide(admin, 'x86_64', name)).toBe(SECCOMP_RET.ALLOW);
    expect(decide(admin, 'x86_64', 'clone', [0x10000000])).toBe(SECCOMP_RET.ALLOW);
    expect(decide(admin, 'x86_64', 'keyctl')).toBe(EPERM); // never allowed
    const all = program(allCapabilities());
    expect(decide(all, 'x86_64', 'reboot')).toBe(SECCOMP_RET.ALLOW);
    expect(decide(all, 'x86_64', 'io_uring_setup')).toBe(EPERM);
  });
});

describe('compiling custom filters', () => {
  const base: SeccompSpec = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [],
  };

  it('compares with each operator on 64 bits', () => {
    const cases: Array<[SeccompSpec['syscalls'][number]['args'], Array<[number | bigint, boolean]>]> = [
      [
        [{ index: 1, value: 10, op: 'SCMP_CMP_GT' }],
        [
          [11, true],
          [10, false],
          [0x1_0000_0000n, true],
        ],
      ],
      [
        [{ index: 1, value: 10, op: 'SCMP_CMP_GE' }],
        [
          [10, true],
          [9, false],
        ],
      ],
      [
        [{ index: 1, value: 10, op: 'SCMP_CMP_LT' }],
        [
          [9, true],
          [10, false],
          [0x1_0000_0001n, false],
        ],
      ],
      [
        [{ index: 1, value: 10, op: 'SCMP_CMP_LE' }],
        [
          [10, true],
          [11, false],
        ],
      ],
      [
        [{ index: 1, value: 10, op: 'SCMP_CMP_NE' }],
        [
          [10, false],
          [0x1_0000_000an, true],
        ],
      ],
      [
        [{ index: 1, value: 0xf0, valueTwo: 0x30, op: 'SCMP_CMP_MASKED_EQ' }],
        [
          [0x3f, true],
          [0x4f, false],
        ],
      ],
      [
        [
          { index: 1, value: 5, op: 'SCMP_CMP_GE' },
          { index: 2, value: 7, op: 'SCMP_CMP_EQ' },
        ],
        [
          [5, true],
          [4, false],
        ],
      ],
    ];
    for (const [args, expectations] of cases) {
      const { program: prog } = compileSeccomp({
        ...base,
        syscalls: [{ names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args }],
      });
      for (const [value, denied] of expectations)
        expect(runFilter(prog, 'x86_64', 1, [0, value, 7]), `${JSON.stringify(args)} ${value}`).toBe(
          denied ? SECCOMP_RET.errno(22) : SECCOMP_RET.ALLOW,
        );
    }
  });

  it('ignores names unknown on an architecture and refuses unsupported actions and arches', () => {
    const { program: prog } = compileSeccomp({
      ...base,
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['read', 'no_such_syscall', 'socketcall'], action: 'SCMP_ACT_ALLOW' }],
    });
    expect(runFilter(prog, 'x86_64', 0)).toBe(SECCOMP_RET.ALLOW);
    expect(() => compileSeccomp({ ...base, defaultAction: 'SCMP_ACT_NOTIFY' })).toThrow(/SCMP_ACT_NOTIFY/);
    expect(() => compileSeccomp({ ...base, architectures: ['SCMP_ARCH_VAX'] })).toThrow(
      /unknown architecture/,
    );
  });

  it('maps each action to its return value', () => {
    const ret = (action: SeccompSpec['defaultAction']) =>
      runFilter(compileSeccomp({ ...base, defaultAction: action, syscalls: [] }).program, 'x86_64', 0);
    expect(ret('SCMP_ACT_KILL_PROCESS')).toBe(0x80000000);
    expect(ret('SCMP_ACT_KILL')).toBe(0);
    expect(ret('SCMP_ACT_TRAP')).toBe(0x00030000);
    expect(ret('SCMP_ACT_LOG')).toBe(0x7ffc0000);
    expect(ret('SCMP_ACT_ERRNO')).toBe(EPERM);
  });

  it('the assembler refuses far conditional jumps and backward labels', () => {
    const asm = new BpfAssembler();
    const far = asm.newLabel('far');
    asm.jump(0x15, 1, far, 0);
    for (let i = 0; i < 300; i++) asm.ret(0);
    asm.label(far);
    asm.ret(0);
    expect(() => asm.assemble()).toThrow(/too far/);
  });
});

describe('compileSeccompCached', () => {
  const spec = (capabilities: readonly string[]) =>
    resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, {
      capabilities,
      goarch: 'amd64',
      kernelRelease: '6.18.0',
    })!;

  it('gives what compileSeccomp gives, and the same program again for an equal spec', () => {
    const first = compileSeccompCached(spec(DEFAULT_CAPABILITIES));
    expect(first).toEqual(compileSeccomp(spec(DEFAULT_CAPABILITIES)));
    expect(compileSeccompCached(spec(DEFAULT_CAPABILITIES))).toBe(first);
  });

  it('compiles a different spec anew, and still refuses a bad one', () => {
    const all = compileSeccompCached(spec(allCapabilities()));
    expect(all.program).toEqual(compileSeccomp(spec(allCapabilities())).program);
    expect(all.program).not.toEqual(compileSeccompCached(spec(DEFAULT_CAPABILITIES)).program);
    expect(() =>
      compileSeccompCached({ ...spec(DEFAULT_CAPABILITIES), architectures: ['SCMP_ARCH_VAX'] }),
    ).toThrow(/unknown architecture/);
  });
});
