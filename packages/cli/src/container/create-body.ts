/**
 * `run` flags → the `POST /containers/create` request, shaped like the docker CLI's body (the
 * Config fields at the top level, then HostConfig with docker's zero values, then
 * NetworkingConfig). Pure: no I/O, so every mapping is unit-tested.
 */
import { parseNanoCpus } from '../options/cpus.js';
import { resolveEnvFlag } from '../options/env.js';
import { parseRamBytes } from '../options/memory.js';

export interface RunFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  memory?: string;
  cpus?: string;
  cpuShares?: string;
  pidsLimit?: string;
  entrypoint?: string;
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  networkAlias?: string[];
  addHost?: string[];
  dns?: string[];
  link?: string[];
}

/** `-p [ip:][hostPort:]containerPort[/proto]` → its port key and binding. */
export function parsePublish(value: string): { key: string; binding: { HostIp: string; HostPort: string } } {
  const slash = value.lastIndexOf('/');
  const proto = slash >= 0 ? value.slice(slash + 1) : 'tcp';
  const spec = slash >= 0 ? value.slice(0, slash) : value;
  const parts = spec.split(':');
  if (parts.length > 3 || !['tcp', 'udp', 'sctp'].includes(proto))
    throw new Error(`invalid port format: ${value}`);
  const container = parts[parts.length - 1] ?? '';
  const hostPort = parts.length >= 2 ? (parts[parts.length - 2] ?? '') : '';
  const hostIp = parts.length === 3 ? (parts[0] ?? '') : '';
  if (!/^\d+$/.test(container) || (hostPort !== '' && !/^\d+(-\d+)?$/.test(hostPort)))
    throw new Error(`invalid port format: ${value}`);
  return { key: `${container}/${proto}`, binding: { HostIp: hostIp, HostPort: hostPort } };
}

/** A flag value docker would refuse while parsing flags (exit 125). */
export class FlagValueError extends Error {
  constructor(flag: string, value: string, reason: string) {
    super(`invalid argument "${value}" for "${flag}" flag: ${reason}`);
    this.name = 'FlagValueError';
  }
}

export interface CreateRequest {
  query: { name?: string };
  body: Record<string, unknown>;
}

export interface CreateEnvironment {
  /** The client's environment, for bare `-e KEY`. */
  env: NodeJS.ProcessEnv;
  /** `[rows, cols]` of our terminal when `-t` and stdout is one. */
  consoleSize?: [number, number];
}

function parseFlag<T>(flag: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    throw new FlagValueError(flag, value, (err as Error).message);
  }
}

/** Go's `strconv.ParseInt(value, 10, 64)` as a pflag int64 flag parses it. */
function parseInt64(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new Error(`strconv.ParseInt: parsing "${value}": invalid syntax`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.ParseInt: parsing "${value}": value out of range`);
  return n;
}

/** The all-empty endpoint docker sends for the default network. */
function emptyEndpoint(): Record<string, unknown> {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: '',
    DriverOpts: null,
    GwPriority: 0,
    NetworkID: '',
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

export function buildCreateRequest(
  image: string,
  command: readonly string[],
  flags: RunFlags,
  environment: CreateEnvironment,
): CreateRequest {
  const attached = !flags.detach;
  const interactive = flags.interactive === true;
  const tty = flags.tty === true;

  const env = (flags.env ?? []).map((e) =>
    parseFlag('-e, --env', e, (v) => resolveEnvFlag(v, environment.env)),
  );
  const memory = flags.memory !== undefined ? parseFlag('-m, --memory', flags.memory, parseRamBytes) : 0;
  const nanoCpus = flags.cpus !== undefined ? parseFlag('--cpus', flags.cpus, parseNanoCpus) : 0;
  const cpuShares =
    flags.cpuShares !== undefined ? parseFlag('-c, --cpu-shares', flags.cpuShares, parseInt64) : 0;
  const pidsLimit =
    flags.pidsLimit !== undefined ? parseFlag('--pids-limit', flags.pidsLimit, parseInt64) : null;

  // `--entrypoint ""` resets the image's entrypoint, which docker encodes as [""].
  const entrypoint = flags.entrypoint === undefined ? null : [flags.entrypoint];
  const consoleSize = tty && environment.consoleSize ? environment.consoleSize : [0, 0];

  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  const exposed: Record<string, Record<string, never>> = {};
  for (const p of flags.publish ?? []) {
    const { key, binding } = parseFlag('-p, --publish', p, parsePublish);
    portBindings[key] = [...(portBindings[key] ?? []), binding];
    exposed[key] = {};
  }
  for (const e of flags.expose ?? []) {
    const key = e.includes('/') ? e : `${e}/tcp`;
    exposed[key] = {};
  }
  const endpoint =
    flags.networkAlias?.length || flags.network === undefined
      ? { ...emptyEndpoint(), ...(flags.networkAlias?.length ? { Aliases: flags.networkAlias } : {}) }
      : undefined;

  const hostConfig: Record<string, unknown> = {
    Binds: null,
    ContainerIDFile: '',
    LogConfig: { Type: '', Config: {} },
    NetworkMode: flags.network ?? 'default',
    PortBindings: portBindings,
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: flags.rm === true,
    VolumeDriver: '',
    VolumesFrom: null,
    ConsoleSize: consoleSize,
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: '',
    Dns: flags.dns ?? [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: flags.addHost?.length ? flags.addHost : null,
    GroupAdd: null,
    IpcMode: '',
    Cgroup: '',
    Links: flags.link?.length ? flags.link : null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: false,
    PublishAllPorts: flags.publishAll === true,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UTSMode: '',
    UsernsMode: '',
    ShmSize: 0,
    Isolation: '',
    CpuShares: cpuShares,
    Memory: memory,
    NanoCpus: nanoCpus,
    CgroupParent: '',
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: -1,
    OomKillDisable: false,
    PidsLimit: pidsLimit,
    Ulimits: [],
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: null,
    ReadonlyPaths: null,
  };

  const body: Record<string, unknown> = {
    Hostname: flags.hostname ?? '',
    Domainname: '',
    User: flags.user ?? '',
    AttachStdin: attached && interactive,
    AttachStdout: attached,
    AttachStderr: attached,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    Tty: tty,
    OpenStdin: interactive,
    StdinOnce: attached && interactive,
    Env: env.length > 0 ? env : null,
    Cmd: command.length > 0 ? [...command] : null,
    Image: image,
    Volumes: {},
    WorkingDir: flags.workdir ?? '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: {},
    HostConfig: hostConfig,
    // Docker omits the endpoint for a single explicit --network without endpoint options.
    NetworkingConfig: { EndpointsConfig: endpoint ? { [flags.network ?? 'default']: endpoint } : {} },
  };

  return { query: flags.name !== undefined ? { name: flags.name } : {}, body };
}
