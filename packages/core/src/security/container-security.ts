/**
 * A container's confinement from its HostConfig, as moby's createSpec composes it: capabilities
 * (`--cap-add`/`--cap-drop`/`--privileged`), the seccomp filter, no_new_privs, rlimits, sysctls,
 * devices and their cgroup rules, masked and read-only paths, tmpfs mounts. `verifySecurityConfig`
 * runs the same checks at create, so bad input is a 400 that changes nothing.
 */
import type { DeviceRule, DeviceSpec, MountSpec, RlimitSpec, SeccompSpec } from '../drivers/exec-driver.js';
import { invalidArgument } from '../errors.js';
import {
  containerCapabilities,
  daemonBoundingSet,
  normalizeCapabilities,
  validateCapabilities,
} from './capabilities.js';
import {
  ALLOW_ALL_DEVICES,
  type DeviceMappingInput,
  defaultDeviceRules,
  devicesFromMapping,
  hostDevices,
  parseDeviceCgroupRule,
  validateDeviceMapping,
} from './devices.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp/default-profile.js';
import { parseDockerSeccompProfile } from './seccomp/docker-profile.js';
import { resolveSeccompProfile } from './seccomp/resolve-profile.js';
import {
  parseSecurityOptions,
  SECCOMP_PROFILE_DEFAULT,
  SECCOMP_PROFILE_UNCONFINED,
  type SecurityOptions,
} from './security-options.js';
import { DEFAULT_NETWORK_SYSCTLS, validateSysctls } from './sysctls.js';
import { tmpfsMounts, validateTmpfs } from './tmpfs.js';
import { type UlimitInput, ulimitsToRlimits } from './ulimits.js';

/** The HostConfig fields that decide a container's confinement. */
export interface SecurityHostConfig {
  Privileged?: boolean | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  SecurityOpt?: string[] | null;
  Ulimits?: UlimitInput[] | null;
  Sysctls?: Record<string, string> | null;
  Tmpfs?: Record<string, string> | null;
  Devices?: DeviceMappingInput[] | null;
  DeviceCgroupRules?: string[] | null;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  NetworkMode?: string | null;
}

/** Shares the host's network namespace (no private one to set `net.*` sysctls in). */
const isHostNetwork = (hc: SecurityHostConfig) => hc.NetworkMode === 'host';
/** Has a network namespace of its own (not the host's, not another container's). */
const hasPrivateNetwork = (hc: SecurityHostConfig) =>
  !isHostNetwork(hc) && !(hc.NetworkMode ?? '').startsWith('container:');

/** Create-time checks with Docker's messages (moby verifyContainerSettings and friends). */
export function verifySecurityConfig(hc: SecurityHostConfig): SecurityOptions {
  validateCapabilities(hc.CapAdd, hc.CapDrop);
  const opts = parseSecurityOptions(hc.SecurityOpt);
  ulimitsToRlimits(hc.Ulimits);
  validateSysctls(hc.Sysctls, { privateNetwork: !isHostNetwork(hc), privateIpc: true, privateUts: true });
  validateTmpfs(hc.Tmpfs);
  for (const d of hc.Devices ?? []) validateDeviceMapping(d);
  for (const rule of hc.DeviceCgroupRules ?? []) parseDeviceCgroupRule(rule);
  for (const p of [...(hc.MaskedPaths ?? []), ...(hc.ReadonlyPaths ?? [])])
    if (!p.startsWith('/') || p.includes('\0'))
      throw invalidArgument(`invalid path ${JSON.stringify(p)}: it must be absolute`);
  return opts;
}

/**
 * The capabilities a container gets, limited to what the daemon itself holds: `--privileged`
 * and `--cap-add ALL` mean "everything we have"; a named capability we lack is an error (a
 * process cannot be given what its parent never had).
 */
export function capabilitiesFor(hc: SecurityHostConfig, available = daemonBoundingSet()): string[] {
  const caps = containerCapabilities({ capAdd: hc.CapAdd, capDrop: hc.CapDrop, privileged: hc.Privileged });
  if (hc.Privileged || normalizeCapabilities(hc.CapAdd).includes('ALL'))
    return caps.filter((c) => available.has(c));
  const missing = caps.filter((c) => !available.has(c));
  if (missing.length)
    throw invalidArgument(
      `cannot give the container ${missing.join(', ')}: the daemon does not hold ${missing.length === 1 ? 'it' : 'them'} in its own capability bounding set`,
    );
  return caps;
}

/** moby's WithSeccomp: none for `--privileged` or `seccomp=unconfined`, else the profile. */
export function seccompFor(
  hc: SecurityHostConfig,
  opts: SecurityOptions,
  capabilities: readonly string[],
): SeccompSpec | undefined {
  const choice = opts.seccompProfile;
  if (choice === SECCOMP_PROFILE_UNCONFINED || hc.Privileged) return undefined;
  const profile =
    !choice || choice === SECCOMP_PROFILE_DEFAULT
      ? DEFAULT_SECCOMP_PROFILE
      : parseDockerSeccompProfile(choice);
  return resolveSeccompProfile(profile, { capabilities });
}

export interface ContainerSecurity {
  capabilities: string[];
  noNewPrivileges: boolean;
  seccomp?: SeccompSpec;
  rlimits: RlimitSpec[];
  sysctl: Record<string, string>;
  /** Device nodes beyond the defaults (`--device`, or the host's for `--privileged`). */
  devices: DeviceSpec[];
  deviceRules: DeviceRule[];
  /** Masked / read-only paths; undefined: Docker's defaults. */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  /** /sys and the cgroupfs are mounted read-write (`--privileged`, `writable-cgroups=true`). */
  writableSysfs: boolean;
  writableCgroups: boolean;
  tmpfsMounts: MountSpec[];
}

/**
 * Everything the exec driver needs to confine the container, computed at start.
 * `privateNetwork`: whether the container ends up with a network namespace of its own (the
 * network side may decide otherwise than NetworkMode says).
 */
export function containerSecurity(
  hc: SecurityHostConfig,
  o: { privateNetwork?: boolean } = {},
): ContainerSecurity {
  const opts = verifySecurityConfig(hc);
  const privateNetwork = o.privateNetwork ?? hasPrivateNetwork(hc);
  validateSysctls(hc.Sysctls, { privateNetwork, privateIpc: true, privateUts: true });
  const privileged = hc.Privileged === true;
  const capabilities = capabilitiesFor(hc);
  const seccomp = seccompFor(hc, opts, capabilities);

  const devices: DeviceSpec[] = [];
  const deviceRules = defaultDeviceRules();
  if (privileged) {
    devices.push(...hostDevices());
    deviceRules.push(ALLOW_ALL_DEVICES);
  } else {
    for (const mapping of hc.Devices ?? []) {
      const found = devicesFromMapping(mapping);
      devices.push(...found.devices);
      deviceRules.push(...found.rules);
    }
    for (const rule of hc.DeviceCgroupRules ?? []) deviceRules.push(parseDeviceCgroupRule(rule));
  }

  return {
    capabilities,
    noNewPrivileges: opts.noNewPrivileges,
    ...(seccomp ? { seccomp } : {}),
    rlimits: ulimitsToRlimits(hc.Ulimits),
    sysctl: { ...(privateNetwork ? DEFAULT_NETWORK_SYSCTLS : {}), ...(hc.Sysctls ?? {}) },
    devices,
    deviceRules,
    ...(privileged
      ? { maskedPaths: [], readonlyPaths: [] }
      : {
          ...(hc.MaskedPaths ? { maskedPaths: [...hc.MaskedPaths] } : {}),
          ...(hc.ReadonlyPaths ? { readonlyPaths: [...hc.ReadonlyPaths] } : {}),
        }),
    writableSysfs: privileged,
    writableCgroups: privileged || opts.writableCgroups === true,
    tmpfsMounts: tmpfsMounts(hc.Tmpfs),
  };
}
