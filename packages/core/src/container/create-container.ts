/**
 * `create`'s config work: merge the request with the image's config (Cmd, Entrypoint, Env,
 * WorkingDir, User, …) the way moby does, and check HostConfig values Docker rejects.
 */
import { cpus } from 'node:os';
import { invalidArgument } from '../errors.js';
import type { StoredConfig } from './container.js';
import { mergeEnv } from './container-spec.js';
import { type CreateBody, type HostConfigInput, toArgv } from './create-config.js';

/** The parts of an image config that a container inherits. */
export interface ImageRuntimeConfig {
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, unknown> | null;
  Volumes?: Record<string, unknown> | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: unknown;
  OnBuild?: string[] | null;
  Shell?: string[] | null;
}

const MIN_MEMORY = 6 * 1024 * 1024;

export function mergeWithImage(body: CreateBody, image: ImageRuntimeConfig, imageRef: string): StoredConfig {
  const userCmd = toArgv(body.Cmd);
  const userEntrypoint = toArgv(body.Entrypoint);
  // moby: an explicit entrypoint drops the image's Cmd unless the request gives its own.
  const entrypoint = userEntrypoint ?? image.Entrypoint ?? null;
  const cmd = userCmd ?? (userEntrypoint ? null : (image.Cmd ?? null));
  const { HostConfig: _hc, NetworkingConfig: _nc, ...config } = body;
  return {
    ...config,
    Image: imageRef,
    Cmd: cmd,
    Entrypoint: entrypoint && entrypoint.length === 1 && entrypoint[0] === '' ? null : entrypoint,
    Env: mergeEnv(image.Env ?? [], body.Env ?? []),
    WorkingDir: body.WorkingDir || image.WorkingDir || '',
    User: body.User || image.User || '',
    Labels: { ...(image.Labels ?? {}), ...(body.Labels ?? {}) },
    ExposedPorts:
      body.ExposedPorts || image.ExposedPorts
        ? { ...(image.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) }
        : null,
    Volumes: body.Volumes && Object.keys(body.Volumes).length ? body.Volumes : (image.Volumes ?? null),
    StopSignal: body.StopSignal || image.StopSignal || undefined,
    Healthcheck: (body.Healthcheck ?? image.Healthcheck ?? undefined) as StoredConfig['Healthcheck'],
    OnBuild: body.OnBuild ?? image.OnBuild ?? null,
  };
}

export function commandOf(config: StoredConfig): { path: string; args: string[] } {
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (argv.length === 0 || argv[0] === '') throw invalidArgument('No command specified');
  return { path: argv[0]!, args: argv.slice(1) };
}

/** HostConfig checks with moby's messages (daemon/daemon_unix.go verifyPlatformContainerResources). */
export function verifyHostConfig(hc: HostConfigInput): void {
  if (hc.Memory && hc.Memory > 0 && hc.Memory < MIN_MEMORY)
    throw invalidArgument('Minimum memory limit allowed is 6MB');
  if (hc.MemorySwap && hc.MemorySwap > 0 && hc.Memory && hc.MemorySwap < hc.Memory) {
    throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (hc.MemorySwap && hc.MemorySwap > 0 && !hc.Memory) {
    throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (hc.NanoCpus && (hc.CpuQuota || hc.CpuPeriod)) {
    throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if (hc.NanoCpus) {
    // Only here: os.cpus() reads /proc/cpuinfo synchronously, a few ms on every create otherwise.
    const ncpu = cpus().length;
    if (hc.NanoCpus < 1e7 || hc.NanoCpus > ncpu * 1e9) {
      throw invalidArgument(
        `Range of CPUs is from 0.01 to ${ncpu.toFixed(2)}, as there are only ${ncpu} CPUs available`,
      );
    }
  }
  if (hc.CpuPeriod && (hc.CpuPeriod < 1000 || hc.CpuPeriod > 1_000_000)) {
    throw invalidArgument(
      'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)',
    );
  }
  if (hc.CpuQuota && hc.CpuQuota < 1000)
    throw invalidArgument('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  const restart = hc.RestartPolicy?.Name;
  if (hc.AutoRemove && restart && restart !== 'no') {
    throw invalidArgument(`can't create 'AutoRemove' container with restart policy`);
  }
}
