/** `GET /version` and `GET /info`, typed the way the docker CLI decodes them (strings stay strings). */
import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import type { DaemonConfig } from '../config/daemon-config.js';
import { hostPlatform } from '../image/platform.js';
import type { SystemService } from '../services.js';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

function operatingSystem(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function cgroupVersion(): '1' | '2' {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => / \/sys\/fs\/cgroup .* - cgroup2 /.test(l))
      ? '2'
      : '1';
  } catch {
    return '1';
  }
}

export interface SystemFacts {
  version: string;
  config: DaemonConfig;
  graphDriver: { name: string; status: () => Array<[string, string]> };
  execDriverName: string;
  daemonId: string;
  counts: () => { containers: number; running: number; paused: number; stopped: number; images: number };
}

export class System implements SystemService {
  private readonly goArch = hostPlatform().architecture;

  constructor(private readonly facts: SystemFacts) {}

  async version(): Promise<Record<string, unknown>> {
    const { version } = this.facts;
    const details = {
      ApiVersion: API_VERSION,
      Arch: this.goArch,
      BuildTime: '',
      Experimental: 'false',
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      KernelVersion: release(),
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
    };
    return {
      Platform: { Name: 'tsdocker' },
      Components: [{ Name: 'Engine', Version: version, Details: details }],
      Version: version,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: details.GoVersion,
      Os: 'linux',
      Arch: this.goArch,
      KernelVersion: release(),
      BuildTime: '',
    };
  }

  async info(): Promise<Record<string, unknown>> {
    const { config, graphDriver, counts } = this.facts;
    const c = counts();
    return {
      ID: this.facts.daemonId,
      Containers: c.containers,
      ContainersRunning: c.running,
      ContainersPaused: c.paused,
      ContainersStopped: c.stopped,
      Images: c.images,
      Driver: graphDriver.name,
      DriverStatus: graphDriver.status(),
      Plugins: { Volume: [], Network: ['host', 'none'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: config.debug,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: config['log-driver'],
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupVersion(),
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: operatingSystem(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: [] },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: config['data-root'],
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: config.labels,
      ExperimentalBuild: false,
      ServerVersion: this.facts.version,
      Runtimes: { [this.facts.execDriverName]: { path: 'tsd-shim' } },
      DefaultRuntime: this.facts.execDriverName,
      Swarm: {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      // The default seccomp profile is built in (security/seccomp-profile.ts), as dockerd's.
      SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
      Warnings: [],
    };
  }
}
