/** Docker's JSON views of a container: `GET /containers/{id}/json` and the `ps` summary. */
import { networkSettingsView, networksSummary, portsSummary } from '../network/network-settings.js';
import type { ContainerEntry } from './container-entry.js';
import { statusText } from './status-text.js';

function networkMode(entry: ContainerEntry): string {
  const mode = entry.hostConfig.NetworkMode || 'default';
  return mode === 'default' ? 'bridge' : mode;
}

function hostConfigView(entry: ContainerEntry): Record<string, unknown> {
  const hc = entry.hostConfig;
  return {
    Binds: hc.Binds ?? null,
    ContainerIDFile: '',
    LogConfig: { Type: 'json-file', Config: hc.LogConfig?.Config ?? {} },
    NetworkMode: hc.NetworkMode || 'bridge',
    PortBindings: hc.PortBindings ?? {},
    RestartPolicy: {
      Name: hc.RestartPolicy?.Name || 'no',
      MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0,
    },
    AutoRemove: hc.AutoRemove === true,
    VolumeDriver: '',
    VolumesFrom: null,
    ConsoleSize: hc.ConsoleSize ?? [0, 0],
    CapAdd: hc.CapAdd ?? null,
    CapDrop: hc.CapDrop ?? null,
    CgroupnsMode: 'host',
    Dns: hc.Dns ?? [],
    DnsOptions: hc.DnsOptions ?? [],
    DnsSearch: hc.DnsSearch ?? [],
    ExtraHosts: hc.ExtraHosts ?? null,
    GroupAdd: hc.GroupAdd ?? null,
    IpcMode: 'private',
    Cgroup: '',
    Links: hc.Links?.length ? hc.Links : null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: hc.Privileged === true,
    PublishAllPorts: hc.PublishAllPorts === true,
    ReadonlyRootfs: hc.ReadonlyRootfs === true,
    SecurityOpt: null,
    UTSMode: '',
    UsernsMode: '',
    ShmSize: hc.ShmSize || 67108864,
    Runtime: 'runc',
    Isolation: '',
    CpuShares: hc.CpuShares ?? 0,
    Memory: hc.Memory ?? 0,
    NanoCpus: hc.NanoCpus ?? 0,
    CgroupParent: '',
    BlkioWeight: 0,
    CpuPeriod: hc.CpuPeriod ?? 0,
    CpuQuota: hc.CpuQuota ?? 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: hc.MemoryReservation ?? 0,
    MemorySwap: hc.MemorySwap ?? (hc.Memory ? hc.Memory * 2 : 0),
    MemorySwappiness: null,
    OomKillDisable: null,
    PidsLimit: hc.PidsLimit && hc.PidsLimit > 0 ? hc.PidsLimit : null,
    Ulimits: [],
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: [],
    ReadonlyPaths: [],
    Init: hc.Init ?? null,
  };
}

export function inspectView(
  entry: ContainerEntry,
  graphDriver: { name: string; data: Record<string, string> | null },
): Record<string, unknown> {
  const r = entry.record;
  return {
    Id: r.ID,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: { ...r.State },
    Image: r.Image,
    ResolvConfPath: r.ResolvConfPath,
    HostnamePath: r.HostnamePath,
    HostsPath: r.HostsPath,
    LogPath: r.LogPath,
    Name: r.Name,
    RestartCount: r.RestartCount,
    Driver: r.Driver,
    Platform: r.Platform,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: entry.execIds.size ? [...entry.execIds] : null,
    HostConfig: hostConfigView(entry),
    GraphDriver: { Name: graphDriver.name, Data: graphDriver.data },
    Mounts: [],
    Config: {
      Hostname: r.Config.Hostname ?? '',
      Domainname: r.Config.Domainname ?? '',
      User: r.Config.User ?? '',
      AttachStdin: r.Config.AttachStdin === true,
      AttachStdout: r.Config.AttachStdout === true,
      AttachStderr: r.Config.AttachStderr === true,
      ...(r.Config.ExposedPorts ? { ExposedPorts: r.Config.ExposedPorts } : {}),
      Tty: r.Config.Tty === true,
      OpenStdin: r.Config.OpenStdin === true,
      StdinOnce: r.Config.StdinOnce === true,
      Env: r.Config.Env,
      Cmd: r.Config.Cmd,
      ...(r.Config.Healthcheck ? { Healthcheck: r.Config.Healthcheck } : {}),
      Image: r.Config.Image,
      Volumes: r.Config.Volumes ?? null,
      WorkingDir: r.Config.WorkingDir ?? '',
      Entrypoint: r.Config.Entrypoint,
      OnBuild: r.Config.OnBuild ?? null,
      Labels: r.Config.Labels,
      ...(r.Config.StopSignal ? { StopSignal: r.Config.StopSignal } : {}),
      ...(r.Config.StopTimeout !== undefined && r.Config.StopTimeout !== null
        ? { StopTimeout: r.Config.StopTimeout }
        : {}),
    },
    NetworkSettings: networkSettingsView(r.NetworkSettings),
  };
}

export function summaryView(entry: ContainerEntry, now: Date): Record<string, unknown> {
  const r = entry.record;
  const command = [r.Path, ...r.Args].filter((s) => s !== '').join(' ');
  return {
    Id: r.ID,
    Names: [r.Name],
    Image: r.Config.Image,
    ImageID: r.Image,
    Command: command,
    Created: Math.floor(Date.parse(r.Created) / 1000),
    Ports: portsSummary(r.NetworkSettings),
    Labels: r.Config.Labels,
    State: r.State.Status,
    Status: statusText(r.State, now),
    HostConfig: { NetworkMode: networkMode(entry) },
    NetworkSettings: networksSummary(r.NetworkSettings),
    Mounts: [],
  };
}
