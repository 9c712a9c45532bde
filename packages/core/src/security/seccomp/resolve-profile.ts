/**
 * moby's setupSeccomp: turns a Docker profile into the filter for one container. Rules whose
 * `includes`/`excludes` do not match the container's capabilities (its bounding set), this
 * machine's architecture or the running kernel are dropped; `archMap` picks the architectures
 * the filter covers (x86_64 → x86_64, x86 and x32).
 */
import { arch as osArch, release } from 'node:os';
import type { SeccompSpec, SeccompSyscall } from '../../drivers/exec-driver.js';
import { invalidArgument } from '../../errors.js';
import type { DockerSeccompProfile } from './docker-profile.js';

/** Node's `process.arch` → Go's GOARCH, which profiles name in `includes.arches`. */
const GOARCH: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  s390x: 's390x',
  ppc64: 'ppc64le',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** GOARCH → libseccomp's name for the native architecture (moby's nativeToSeccomp). */
const NATIVE_SECCOMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  '386': 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  s390x: 'SCMP_ARCH_S390X',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
  mips: 'SCMP_ARCH_MIPS',
  mipsle: 'SCMP_ARCH_MIPSEL',
};

export interface SeccompTarget {
  /** The container's capabilities (its bounding set), by name. */
  capabilities: readonly string[];
  /** GOARCH of the machine; defaults to this process's. */
  goarch?: string;
  /** `uname -r`; defaults to the running kernel's. */
  kernelRelease?: string;
}

/** `major.minor` of a kernel release such as `6.18.44-fc-v782`. */
function kernelVersion(text: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text.trim());
  if (!m) throw invalidArgument(`invalid kernel version: ${JSON.stringify(text)}`);
  return [Number(m[1]), Number(m[2])];
}

function kernelAtLeast(running: [number, number], wanted: string): boolean {
  const [maj, min] = kernelVersion(wanted);
  return running[0] > maj || (running[0] === maj && running[1] >= min);
}

/** The resolved filter, or undefined when the profile is empty (moby: seccomp disabled). */
export function resolveSeccompProfile(
  profile: DockerSeccompProfile,
  target: SeccompTarget,
): SeccompSpec | undefined {
  const fail = (msg: string) => invalidArgument(msg);
  const syscalls = profile.syscalls ?? [];
  if (!profile.defaultAction && syscalls.length === 0) return undefined;
  if (!profile.defaultAction) throw fail('seccomp profile: defaultAction is required');
  if (profile.architectures?.length && profile.archMap?.length)
    throw fail(
      "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );

  const goarch = target.goarch ?? GOARCH[osArch()] ?? osArch();
  const running = kernelVersion(target.kernelRelease ?? release());
  const caps = new Set(target.capabilities);

  const architectures = [...(profile.architectures ?? [])];
  const native = NATIVE_SECCOMP_ARCH[goarch];
  for (const entry of profile.archMap ?? []) {
    if (native && entry.architecture === native)
      architectures.push(entry.architecture, ...(entry.subArchitectures ?? []));
  }

  const out: SeccompSyscall[] = [];
  for (const call of syscalls) {
    let names = call.names ?? [];
    if (call.name) {
      if (names.length) throw fail("use either 'name' or 'names'");
      names = [call.name];
    }
    const inc = call.includes;
    const exc = call.excludes;
    if (exc?.arches?.length && exc.arches.includes(goarch)) continue;
    if (inc?.arches?.length && !inc.arches.includes(goarch)) continue;
    if (exc?.caps?.some((c) => caps.has(c))) continue;
    if (inc?.caps?.length && !inc.caps.every((c) => caps.has(c))) continue;
    if (exc?.minKernel && kernelAtLeast(running, exc.minKernel)) continue;
    if (inc?.minKernel && !kernelAtLeast(running, inc.minKernel)) continue;
    out.push({
      names: [...names],
      action: call.action,
      ...(call.errnoRet !== undefined && call.errnoRet !== null ? { errnoRet: call.errnoRet } : {}),
      ...(call.args?.length
        ? {
            args: call.args.map((a) => ({
              index: a.index,
              value: a.value,
              ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}),
              op: a.op,
            })),
          }
        : {}),
    });
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined && profile.defaultErrnoRet !== null
      ? { defaultErrnoRet: profile.defaultErrnoRet }
      : {}),
    architectures,
    ...(profile.flags?.length ? { flags: [...profile.flags] } : {}),
    syscalls: out,
  };
}
