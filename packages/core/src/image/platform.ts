/**
 * Platforms (`os/arch[/variant]`), as containerd's `platforms.Parse` reads the `platform`
 * parameter of import, create and pull, normalised the same way (`x86_64` is `amd64`).
 */
import { invalidArgument } from '../errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'illumos',
  'ios',
  'js',
  'linux',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasip1',
  'windows',
]);

const KNOWN_ARCH = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'ppc',
  'ppc64',
  'ppc64le',
  'riscv64',
  's390x',
  'sparc64',
  'wasm',
]);

/** containerd's normalizeArch: aliases to Go's names, default variants dropped or added. */
function normalizeArch(arch: string, variant: string): { architecture: string; variant: string } {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      return { architecture: '386', variant: '' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? '' : v };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: v === '8' || v === 'v8' ? '' : v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      return {
        architecture: 'arm',
        variant: v === '' || v === '7' ? 'v7' : v === '5' || v === '6' || v === '8' ? `v${v}` : v,
      };
    default:
      return { architecture: a, variant: v };
  }
}

/** The machine this daemon runs on, in Go's names. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
    mips: 'mips',
    mipsel: 'mipsle',
  };
  const architecture = arch[process.arch] ?? process.arch;
  return architecture === 'arm'
    ? { os: 'linux', architecture, variant: 'v7' }
    : { os: 'linux', architecture };
}

/** Parses `os`, `arch`, `os/arch` or `os/arch/variant`; missing parts come from the host. */
export function parsePlatform(spec: string): Platform {
  const bad = (why: string) => invalidArgument(`${JSON.stringify(spec)}: ${why}: invalid argument`);
  if (!/^[A-Za-z0-9_./-]+$/.test(spec) || spec.includes('//')) throw bad('invalid platform component');
  const parts = spec.split('/');
  const host = hostPlatform();
  const make = (os: string, arch: string, variant: string): Platform => {
    const n = normalizeArch(arch, variant);
    return n.variant
      ? { os, architecture: n.architecture, variant: n.variant }
      : { os, architecture: n.architecture };
  };
  if (parts.length === 1) {
    const only = (parts[0] as string).toLowerCase();
    if (KNOWN_OS.has(only)) {
      return only === host.os ? { ...host } : { os: only, architecture: host.architecture };
    }
    const n = normalizeArch(only, '');
    if (KNOWN_ARCH.has(n.architecture)) return make(host.os, only, '');
    throw bad('unknown operating system or architecture');
  }
  if (parts.length > 3) throw bad('cannot parse platform');
  const os = (parts[0] as string).toLowerCase();
  if (!KNOWN_OS.has(os)) throw bad('unknown operating system');
  return make(os, parts[1] as string, parts[2] ?? '');
}
