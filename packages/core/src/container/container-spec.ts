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
import { containerSecurity } from '../security/container-security.js';
import type { ContainerRecord } from './container.js';
import type { HostConfigInput } from './create-config.js';
import {
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultDevices,
  defaultMaskedPaths,
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

/** `host` shares the host's network namespace; every other mode gets a fresh one (loopback only)
 * unless the network side prepared a sandbox to join by path (`null` = the host's). */
export function namespacesFor(networkMode: string, networkNamespacePath?: string | null): NamespaceSpec[] {
  const ns: NamespaceSpec[] = [{ type: 'mount' }, { type: 'pid' }, { type: 'uts' }, { type: 'ipc' }];
  if (networkNamespacePath) ns.push({ type: 'network', path: networkNamespacePath });
  else if (networkNamespacePath === undefined && networkMode !== 'host') ns.push({ type: 'network' });
  return ns;
}

export function buildContainerSpec(args: {
  record: ContainerRecord;
  hostConfig: HostConfigInput;
  rootfs: string;
  user: ResolvedUser;
  /** The sandbox to join; null for the host's namespace; undefined for a fresh one. */
  networkNamespacePath?: string | null;
  /** Extra environment (legacy links), overridden by the container's own Env. */
  extraEnv?: string[];
}): ContainerSpec {
  const { record, hostConfig: hc, rootfs, user } = args;
  const namespaces = namespacesFor(hc.NetworkMode ?? 'default', args.networkNamespacePath);
  const security = containerSecurity(hc, { privateNetwork: namespaces.some((n) => n.type === 'network') });
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
  const mounts = withUserMounts(
    [
      ...defaultMounts({ shmSize: hc.ShmSize || undefined, readonlyRootfs }).map((m) =>
        m.destination === '/sys' && security.writableSysfs ? withoutReadOnly(m) : m,
      ),
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: [security.writableCgroups ? 'rw' : 'ro', 'nosuid', 'noexec', 'nodev'],
      },
    ],
    [...networkFiles, ...security.tmpfsMounts],
  );
  const [rows, cols] = hc.ConsoleSize ?? [0, 0];
  const process: ProcessSpec = {
    args: [record.Path, ...record.Args],
    env: processEnv(record, hostname, tty, user, args.extraEnv),
    cwd: record.Config.WorkingDir || '/',
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    terminal: tty,
    openStdin: record.Config.OpenStdin === true,
    ...(tty && rows && cols ? { consoleSize: { rows, cols } } : {}),
    capabilities: security.capabilities,
    noNewPrivileges: security.noNewPrivileges,
    rlimits: security.rlimits,
  };
  return {
    id: record.ID,
    rootfs,
    readonlyRootfs,
    hostname,
    domainname: record.Config.Domainname ?? '',
    process,
    mounts,
    devices: [...new Map([...defaultDevices(), ...security.devices].map((d) => [d.path, d])).values()],
    namespaces,
    resources: { ...resourcesFrom(hc), devices: security.deviceRules },
    maskedPaths: security.maskedPaths ?? defaultMaskedPaths(),
    readonlyPaths: security.readonlyPaths ?? DEFAULT_READONLY_PATHS,
    ...(security.seccomp ? { seccomp: security.seccomp } : {}),
    sysctl: security.sysctl,
  };
}

function withoutReadOnly(m: MountSpec): MountSpec {
  return { ...m, options: m.options.filter((o) => o !== 'ro') };
}

/**
 * moby's WithMounts: a user mount replaces a default mount at the same destination, and user
 * mounts go parents first (sorted by depth), so `/etc` never hides `/etc/hosts`.
 */
function withUserMounts(defaults: MountSpec[], user: MountSpec[]): MountSpec[] {
  const taken = new Set(user.map((m) => m.destination));
  const depth = (m: MountSpec) => m.destination.split('/').filter(Boolean).length;
  const sorted = user
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i)
    .map(({ m }) => m);
  return [...defaults.filter((m) => !taken.has(m.destination)), ...sorted];
}
