/**
 * Docker's resource semantics turned into cgroup values, shared by the v1 and v2 managers.
 */
import { type DeviceRule, type DeviceSpec, invalidArgument, type Resources } from '@tsdocker/core';

/** Checks the combinations Docker rejects before anything is written. */
export function validateResources(r: Resources): void {
  const positive = (v: number | undefined, what: string) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw invalidArgument(`Invalid ${what}: ${v}`);
  };
  positive(r.memory, 'memory limit');
  positive(r.cpuShares, 'CPU shares');
  positive(r.cpuPeriod, 'CPU period');
  if (r.cpuQuota !== undefined && (!Number.isInteger(r.cpuQuota) || (r.cpuQuota < 0 && r.cpuQuota !== -1)))
    throw invalidArgument(`Invalid CPU quota: ${r.cpuQuota}`);
  if (r.pidsLimit !== undefined && !Number.isInteger(r.pidsLimit))
    throw invalidArgument(`Invalid pids limit: ${r.pidsLimit}`);
  if (r.memorySwap !== undefined && r.memorySwap !== 0) {
    if (!Number.isInteger(r.memorySwap) || r.memorySwap < -1)
      throw invalidArgument(`Invalid memory swap limit: ${r.memorySwap}`);
    if (!r.memory)
      throw invalidArgument('You should always set the Memory limit when using Memoryswap limit');
    if (r.memorySwap !== -1 && r.memorySwap < r.memory)
      throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
}

/** Memory + swap in bytes, -1 for unlimited; Docker's default is twice the memory limit. */
export function memoryPlusSwap(r: Resources): number | undefined {
  if (!r.memory) return undefined;
  if (r.memorySwap === -1) return -1;
  if (r.memorySwap) return r.memorySwap;
  return r.memory * 2;
}

/** runc's cpu.shares (2–262144) → cpu.weight (1–10000) mapping. */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

export function pidsMax(limit: number): string {
  return limit > 0 ? String(limit) : 'max';
}

/** Devices every container may use (runc's AllowedDevices), plus mknod of anything; appended
 * after the spec's own rules, as runc does. */
const DEFAULT_DEVICE_RULES = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm', // null
  'c 1:5 rwm', // zero
  'c 1:7 rwm', // full
  'c 1:8 rwm', // random
  'c 1:9 rwm', // urandom
  'c 5:0 rwm', // tty
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts
  'c 10:200 rwm', // tun
];

/** The devices cgroup allowlist for a container: the defaults plus each of its devices. */
export function deviceAllowRules(devices: readonly DeviceSpec[]): string[] {
  const rules = [...DEFAULT_DEVICE_RULES];
  for (const d of devices) {
    const type = d.type === 'p' ? undefined : d.type;
    if (!type) continue; // FIFOs are not devices to the devices controller
    const rule = `${type} ${d.major}:${d.minor} rwm`;
    if (!rules.includes(rule)) rules.push(rule);
  }
  return rules;
}

export interface DeviceCgroupWrite {
  /** `devices.allow` or `devices.deny`. */
  file: 'devices.allow' | 'devices.deny';
  rule: string;
}

function ruleText(r: DeviceRule): string {
  if (r.type === 'a') return 'a';
  if (!/^[rwm]{1,3}$/.test(r.access)) throw invalidArgument(`Invalid device access: ${r.access}`);
  const part = (n: number | undefined) => {
    if (n === undefined) return '*';
    if (!Number.isInteger(n) || n < 0 || n > 0xfffff) throw invalidArgument(`Invalid device number: ${n}`);
    return String(n);
  };
  return `${r.type} ${part(r.major)}:${part(r.minor)} ${r.access}`;
}

/**
 * The v1 devices controller writes for a container, in order: the spec's rules (usually "deny
 * all" first), then the runtime's always-allowed devices. Without spec rules: deny all, then the
 * always-allowed devices and each of the spec's device nodes.
 */
export function deviceCgroupWrites(
  rules: readonly DeviceRule[] | undefined,
  devices: readonly DeviceSpec[],
): DeviceCgroupWrite[] {
  if (!rules) {
    return [
      { file: 'devices.deny', rule: 'a' },
      ...deviceAllowRules(devices).map((rule) => ({ file: 'devices.allow' as const, rule })),
    ];
  }
  return [
    ...rules.map((r) => ({
      file: r.allow ? ('devices.allow' as const) : ('devices.deny' as const),
      rule: ruleText(r),
    })),
    ...DEFAULT_DEVICE_RULES.map((rule) => ({ file: 'devices.allow' as const, rule })),
  ];
}
