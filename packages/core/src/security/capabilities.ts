/**
 * Linux capabilities as Docker handles them (moby daemon/pkg/oci/caps): the kernel's names and
 * numbers, Docker's default set, and `--cap-add`/`--cap-drop`/`--privileged` turned into the set
 * a container's processes keep (bounding, permitted and effective; inheritable and ambient stay
 * empty).
 */
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../errors.js';

/** Every capability the kernel defines, by number (include/uapi/linux/capability.h). */
export const CAPABILITY_NUMBERS: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/** Docker's 14 default capabilities (moby daemon/pkg/oci/caps/defaults.go); mask 0xa80425fb. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const ALL = 'ALL';

/** The number of a `CAP_*` name, or undefined for a name the kernel does not define. */
export function capabilityNumber(name: string): number | undefined {
  return Object.hasOwn(CAPABILITY_NUMBERS, name) ? CAPABILITY_NUMBERS[name] : undefined;
}

/** The highest capability this kernel knows (`/proc/sys/kernel/cap_last_cap`). */
function kernelLastCap(): number {
  try {
    const n = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    if (Number.isInteger(n) && n >= 0) return n;
  } catch {
    // Not Linux, or /proc hidden: fall back to every capability we know.
  }
  return Math.max(...Object.values(CAPABILITY_NUMBERS));
}

/** moby's GetAllCapabilities: every capability both we and the running kernel know, by number. */
export function allCapabilities(): string[] {
  const last = kernelLastCap();
  return Object.entries(CAPABILITY_NUMBERS)
    .filter(([, n]) => n <= last)
    .map(([name]) => name);
}

/**
 * moby's NormalizeLegacyCapabilities: upper-case, add the `CAP_` prefix, keep `ALL`, and refuse
 * names the kernel does not define (`unknown capability: "CAP_FOO"`).
 */
export function normalizeCapabilities(caps: readonly string[] | null | undefined): string[] {
  const out: string[] = [];
  const known = new Set(allCapabilities());
  for (const raw of caps ?? []) {
    let c = raw.toUpperCase();
    if (c === ALL) {
      out.push(c);
      continue;
    }
    if (!c.startsWith('CAP_')) c = `CAP_${c}`;
    if (!known.has(c)) throw invalidArgument(`unknown capability: ${JSON.stringify(c)}`);
    out.push(c);
  }
  return out;
}

/** moby's validateCapabilities, run at create: Docker's messages for unknown names. */
export function validateCapabilities(
  capAdd: readonly string[] | null | undefined,
  capDrop: readonly string[] | null | undefined,
): void {
  for (const [field, list] of [
    ['CapAdd', capAdd],
    ['CapDrop', capDrop],
  ] as const) {
    try {
      normalizeCapabilities(list);
    } catch (err) {
      throw invalidArgument(`invalid ${field}: ${(err as Error).message}`);
    }
  }
}

/**
 * moby's TweakCapabilities: the capability names a container's processes keep. `--privileged`
 * gets every capability; `--cap-add ALL` everything but the drops; `--cap-drop ALL` only the adds;
 * otherwise the defaults minus the drops plus the adds.
 */
export function containerCapabilities(opts: {
  capAdd?: readonly string[] | null;
  capDrop?: readonly string[] | null;
  privileged?: boolean | null;
}): string[] {
  if (opts.privileged) return allCapabilities();
  const adds = normalizeCapabilities(opts.capAdd);
  const drops = normalizeCapabilities(opts.capDrop);
  if (adds.length === 0 && drops.length === 0) return [...DEFAULT_CAPABILITIES];
  let caps: string[];
  if (adds.includes(ALL)) caps = allCapabilities().filter((c) => !drops.includes(c));
  else if (drops.includes(ALL)) caps = adds;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c)), ...adds];
  return [...new Set(caps)];
}

/** The capability bounding set of this process (`CapBnd` in /proc/self/status), by name. */
export function daemonBoundingSet(statusText?: string): Set<string> {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return new Set(allCapabilities());
    }
  }
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  if (!hex) return new Set(allCapabilities());
  const mask = BigInt(`0x${hex}`);
  return new Set(
    Object.entries(CAPABILITY_NUMBERS)
      .filter(([, n]) => (mask >> BigInt(n)) & 1n)
      .map(([name]) => name),
  );
}

/** The `CapEff`-style hex mask of a set of names (16 hex digits, as /proc prints it). */
export function capabilityMask(names: readonly string[]): string {
  let mask = 0n;
  for (const name of names) {
    const n = capabilityNumber(name);
    if (n !== undefined) mask |= 1n << BigInt(n);
  }
  return mask.toString(16).padStart(16, '0');
}
