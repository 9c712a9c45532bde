/**
 * Builds the exec driver's ContainerSpec from a container's stored config: Docker's default
 * mounts, devices and masked paths, the network files, namespaces for the network mode, the
 * environment Docker composes, and cgroup resources from HostConfig.
 */
import type {
  ContainerSpec,
  MountSpec,
  NamespaceSpec,
  ProcessSpec,
  Resources,
} from '../drivers/exec-driver.js';
import type { ContainerRecord } from './container.js';
import type { HostConfigInput } from './create-config.js';
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultDevices,
  defaultMounts,
} from './oci-defaults.js';
import type { ResolvedUser } from './user.js';

const CFS_PERIOD_US = 100_000;

/** Replaces entries of `base` by key (`K=…`), appends new keys; order kept as Docker does. */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const out = [...base];
  for (const entry of overrides) {
    const key = entry.split('=', 1)[0];
    const i = out.findIndex((e) => e.split('=', 1)[0] === key);
    if (i >= 0) out[i] = entry;
    else out.push(entry);
  }
  return out;
}

/** moby's CreateDaemonEnvironment: PATH, HOSTNAME, TERM first, then the container's own Env. */
export function processEnv(
  record: ContainerRecord,
  hostname: string,
  tty: boolean,
  user: ResolvedUser,
  extra: string[] = [],
): string[] {
  const own = mergeEnv(record.Config.Env, extra);
  const base: string[] = [];
  if (!own.some((e) => e.startsWith('PATH='))) base.push(DEFAULT_PATH_ENV);
  base.push(`HOSTNAME=${hostname}`);
  if (tty) base.push('TERM=xterm');
  const env = mergeEnv(base, own);
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home || '/'}`);
  return env;
}

export function resourcesFrom(hc: HostConfigInput): Resources {
  const r: Resources = {};
  if (hc.Memory) r.memory = hc.Memory;
  if (hc.MemorySwap) r.memorySwap = hc.MemorySwap;
  if (hc.CpuShares) r.cpuShares = hc.CpuShares;
  if (hc.NanoCpus) {
    r.cpuPeriod = CFS_PERIOD_US;
    r.cpuQuota = Math.round((hc.NanoCpus * CFS_PERIOD_US) / 1e9);
  } else {
    if (hc.CpuQuota) r.cpuQuota = hc.CpuQuota;
    if (hc.CpuPeriod) r.cpuPeriod = hc.CpuPeriod;
  }
  if (hc.PidsLimit && hc.PidsLimit > 0) r.pidsLimit = hc.PidsLimit;
  return r;
}

/** `host` shares the host's network namespace; every other mode gets a fresh one (loopback only
 * until a network driver prepares one to join by path). */
export function namespacesFor(networkMode: string): NamespaceSpec[] {
  const ns: NamespaceSpec[] = [{ type: 'mount' }, { type: 'pid' }, { type: 'uts' }, { type: 'ipc' }];
  if (networkMode !== 'host') ns.push({ type: 'network' });
  return ns;
}

export function buildContainerSpec(args: {
  record: ContainerRecord;
  hostConfig: HostConfigInput;
  rootfs: string;
  user: ResolvedUser;
}): ContainerSpec {
  const { record, hostConfig: hc, rootfs, user } = args;
  const tty = record.Config.Tty === true;
  const hostname = record.Config.Hostname ?? '';
  const readonlyRootfs = hc.ReadonlyRootfs === true;
  const networkFiles: MountSpec[] = [
    { destination: '/etc/resolv.conf', path: record.ResolvConfPath },
    { destination: '/etc/hostname', path: record.HostnamePath },
    { destination: '/etc/hosts', path: record.HostsPath },
  ].map(({ destination, path }) => ({
    destination,
    type: 'bind',
    source: path,
    options: ['rbind', 'rprivate', ...(readonlyRootfs ? ['ro'] : [])],
  }));
  const mounts: MountSpec[] = [
    ...defaultMounts({ shmSize: hc.ShmSize || undefined, readonlyRootfs }),
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['ro', 'nosuid', 'noexec', 'nodev'],
    },
    ...networkFiles,
  ];
  const [rows, cols] = hc.ConsoleSize ?? [0, 0];
  const process: ProcessSpec = {
    args: [record.Path, ...record.Args],
    env: processEnv(record, hostname, tty, user),
    cwd: record.Config.WorkingDir || '/',
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    terminal: tty,
    openStdin: record.Config.OpenStdin === true,
    ...(tty && rows && cols ? { consoleSize: { rows, cols } } : {}),
  };
  return {
    id: record.ID,
    rootfs,
    readonlyRootfs,
    hostname,
    domainname: record.Config.Domainname ?? '',
    process,
    mounts,
    devices: defaultDevices(),
    namespaces: namespacesFor(hc.NetworkMode ?? 'default'),
    resources: resourcesFrom(hc),
    maskedPaths: hc.Privileged ? [] : DEFAULT_MASKED_PATHS,
    readonlyPaths: hc.Privileged ? [] : DEFAULT_READONLY_PATHS,
  };
}
