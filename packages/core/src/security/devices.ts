/**
 * Devices a container may use: Docker's device cgroup rules (deny everything, allow the few
 * harmless nodes), `--device` mappings, `--device-cgroup-rule`, and for `--privileged` every
 * device node of the host (moby daemon/pkg/oci/defaults.go, devices.go; containerd HostDevices).
 */
import { lstatSync, readdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceRule, DeviceSpec } from '../drivers/exec-driver.js';
import { invalidArgument } from '../errors.js';

const rwm = (type: 'c' | 'b', major: number, minor: number): DeviceRule => ({
  allow: true,
  type,
  major,
  minor,
  access: 'rwm',
});

/** moby's default `linux.resources.devices`: deny all, allow null/zero/urandom/random/tty/console,
 * and deny fuse explicitly. The runtime appends its own always-allowed devices after these. */
export function defaultDeviceRules(): DeviceRule[] {
  return [
    { allow: false, type: 'a', access: 'rwm' },
    rwm('c', 1, 5), // /dev/zero
    rwm('c', 1, 3), // /dev/null
    rwm('c', 1, 9), // /dev/urandom
    rwm('c', 1, 8), // /dev/random
    rwm('c', 5, 0), // /dev/tty
    rwm('c', 5, 1), // /dev/console
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }, // /dev/fuse
  ];
}

/** `--privileged`: every device, every access. */
export const ALLOW_ALL_DEVICES: DeviceRule = { allow: true, type: 'a', access: 'rwm' };

const CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `--device-cgroup-rule 'c 42:* rmw'` (moby AppendDevicePermissionsFromCgroupRules). */
export function parseDeviceCgroupRule(rule: string): DeviceRule {
  const m = CGROUP_RULE.exec(rule);
  if (!m) throw invalidArgument(`invalid device cgroup format '${rule}'`);
  const [, type, major, minor, access] = m;
  return {
    allow: true,
    type: type as DeviceRule['type'],
    ...(major !== '*' ? { major: Number(major) } : {}),
    ...(minor !== '*' ? { minor: Number(minor) } : {}),
    access: access!,
  };
}

export interface DeviceMappingInput {
  PathOnHost?: string | null;
  PathInContainer?: string | null;
  CgroupPermissions?: string | null;
}

/** Checks a `--device` mapping's shape at create; the host node itself is read at start. */
export function validateDeviceMapping(d: DeviceMappingInput): void {
  const host = d.PathOnHost ?? '';
  if (!host.startsWith('/')) throw invalidArgument(`invalid device path on host: ${JSON.stringify(host)}`);
  const inside = d.PathInContainer || host;
  if (!inside.startsWith('/') || inside.split('/').includes('..'))
    throw invalidArgument(`${inside} is not an absolute path`);
  const perms = d.CgroupPermissions || 'rwm';
  if (!/^[rwm]{1,3}$/.test(perms) || new Set(perms).size !== perms.length)
    throw invalidArgument(`invalid device mode: ${perms}`);
}

function nodeOf(st: Stats): { type: 'c' | 'b'; major: number; minor: number } | undefined {
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  // Linux's dev_t encoding (glibc gnu_dev_major/minor).
  const dev = BigInt(st.rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { type, major, minor };
}

function deviceSpec(path: string, st: Stats): DeviceSpec | undefined {
  const node = nodeOf(st);
  if (!node) return undefined;
  return { path, ...node, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/**
 * moby's DevicesFromPath: the node(s) behind a `--device` mapping (a directory maps every
 * device below it) and the cgroup rules that let the container use them.
 */
export function devicesFromMapping(d: DeviceMappingInput): { devices: DeviceSpec[]; rules: DeviceRule[] } {
  const host = d.PathOnHost ?? '';
  const inside = d.PathInContainer || host;
  const access = d.CgroupPermissions || 'rwm';
  const fail = (why: string) =>
    invalidArgument(
      `error gathering device information while adding custom device ${JSON.stringify(host)}: ${why}`,
    );
  let resolved: string;
  let st: Stats;
  try {
    resolved = realpathSync(host);
    st = statSync(resolved);
  } catch (err) {
    throw fail(
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message,
    );
  }
  const found: DeviceSpec[] = [];
  if (st.isDirectory()) {
    for (const { path, stats } of walkDevices(resolved)) {
      const spec = deviceSpec(join(inside, path.slice(resolved.length)), stats);
      if (spec) found.push(spec);
    }
  } else {
    const spec = deviceSpec(inside, st);
    if (!spec) throw fail('not a device node');
    found.push(spec);
  }
  return {
    devices: found,
    rules: found.map((x) => ({
      allow: true,
      type: x.type as 'c' | 'b',
      major: x.major,
      minor: x.minor,
      access,
    })),
  };
}

/** Directories of /dev whose nodes a privileged container does not get from the host. */
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

function* walkDevices(dir: string, depth = 0): Generator<{ path: string; stats: Stats }> {
  if (depth > 8) return;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (!SKIPPED_DIRS.has(name)) yield* walkDevices(path, depth + 1);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      yield { path, stats: st };
    }
  }
}

/** containerd's HostDevices: every device node under the host's /dev (not /dev/console). */
export function hostDevices(root = '/dev'): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  for (const { path, stats } of walkDevices(root)) {
    if (path === join(root, 'console')) continue;
    const spec = deviceSpec(path, stats);
    if (spec) out.push(spec);
  }
  return out;
}
