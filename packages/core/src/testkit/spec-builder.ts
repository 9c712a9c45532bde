/** ContainerSpecs for driver tests, with Docker's defaults from core's oci-defaults and its
 * default confinement (capabilities, seccomp profile, device cgroup rules, sysctls). */
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultDevices,
  defaultMounts,
} from '../container/oci-defaults.js';
import type {
  ContainerSpec,
  DeviceRule,
  DeviceSpec,
  MountSpec,
  NamespaceSpec,
  Resources,
  RlimitSpec,
  SeccompSpec,
  UserSpec,
} from '../drivers/exec-driver.js';
import { DEFAULT_CAPABILITIES } from '../security/capabilities.js';
import { defaultDeviceRules } from '../security/devices.js';
import { DEFAULT_SECCOMP_PROFILE } from '../security/seccomp/default-profile.js';
import { resolveSeccompProfile } from '../security/seccomp/resolve-profile.js';
import { DEFAULT_NETWORK_SYSCTLS } from '../security/sysctls.js';

/** A fresh 64-hex container id, as Docker makes them. */
export function randomContainerId(): string {
  return randomBytes(32).toString('hex');
}

export interface TestSpecOptions {
  id: string;
  rootfs: string;
  args: string[];
  /** Added after PATH and HOSTNAME. */
  env?: string[];
  cwd?: string;
  user?: Partial<UserSpec>;
  terminal?: boolean;
  consoleSize?: { rows: number; cols: number };
  openStdin?: boolean;
  hostname?: string;
  domainname?: string;
  readonlyRootfs?: boolean;
  resources?: Resources;
  /** Appended after the default mounts. */
  mounts?: MountSpec[];
  /** Defaults to new pid, network, mount, ipc and uts namespaces. */
  namespaces?: NamespaceSpec[];
  /** Capability names; defaults to Docker's 14. */
  capabilities?: string[];
  /** The seccomp filter; defaults to Docker's profile resolved for `capabilities`; null: none. */
  seccomp?: SeccompSpec | null;
  noNewPrivileges?: boolean;
  rlimits?: RlimitSpec[];
  /** Defaults to Docker's network sysctls when the container has its own network namespace. */
  sysctl?: Record<string, string>;
  /** Added after the default device nodes. */
  devices?: DeviceSpec[];
  /** Device cgroup rules; default: Docker's (deny all but the harmless few). */
  deviceRules?: DeviceRule[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

export function buildTestSpec(o: TestSpecOptions): ContainerSpec {
  const hostname = o.hostname ?? o.id.slice(0, 12);
  const capabilities = o.capabilities ?? [...DEFAULT_CAPABILITIES];
  const seccomp =
    o.seccomp === null
      ? undefined
      : (o.seccomp ?? resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, { capabilities }));
  const namespaces = o.namespaces ?? [
    { type: 'pid' },
    { type: 'network' },
    { type: 'mount' },
    { type: 'ipc' },
    { type: 'uts' },
  ];
  const privateNetwork = namespaces.some((n) => n.type === 'network' && !n.path);
  return {
    id: o.id,
    rootfs: o.rootfs,
    readonlyRootfs: o.readonlyRootfs ?? false,
    hostname,
    domainname: o.domainname ?? '',
    process: {
      args: o.args,
      env: [
        DEFAULT_PATH_ENV,
        `HOSTNAME=${hostname}`,
        ...(o.terminal ? ['TERM=xterm'] : []),
        ...(o.env ?? []),
      ],
      cwd: o.cwd ?? '/',
      user: { uid: o.user?.uid ?? 0, gid: o.user?.gid ?? 0, additionalGids: o.user?.additionalGids ?? [] },
      terminal: o.terminal ?? false,
      ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
      openStdin: o.openStdin ?? false,
      capabilities,
      ...(o.noNewPrivileges !== undefined ? { noNewPrivileges: o.noNewPrivileges } : {}),
      ...(o.rlimits ? { rlimits: o.rlimits } : {}),
    },
    mounts: [...defaultMounts({ readonlyRootfs: o.readonlyRootfs }), ...(o.mounts ?? [])],
    devices: [...defaultDevices(), ...(o.devices ?? [])],
    namespaces,
    resources: { ...(o.resources ?? {}), devices: o.deviceRules ?? defaultDeviceRules() },
    maskedPaths: o.maskedPaths ?? [...DEFAULT_MASKED_PATHS],
    readonlyPaths: o.readonlyPaths ?? [...DEFAULT_READONLY_PATHS],
    ...(seccomp ? { seccomp } : {}),
    sysctl: o.sysctl ?? (privateNetwork ? { ...DEFAULT_NETWORK_SYSCTLS } : {}),
  };
}
