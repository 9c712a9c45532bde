/**
 * A container as the daemon keeps it: the persisted record (Docker's config.v2.json and
 * hostconfig.json) plus the runtime pieces that only exist while the daemon runs.
 */
import type { ContainerNetworkSettings } from '../network/network-settings.js';
import type { ContainerConfigInput, HostConfigInput } from './create-config.js';

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export type ContainerStatus =
  | 'created'
  | 'running'
  | 'paused'
  | 'restarting'
  | 'removing'
  | 'exited'
  | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

/** Config as stored: Docker's shape with Cmd/Entrypoint normalised to arrays. */
export type StoredConfig = Omit<ContainerConfigInput, 'Cmd' | 'Entrypoint'> & {
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  Image: string;
  Env: string[];
  Labels: Record<string, string>;
};

/** What goes to disk, in moby's config.v2.json field names. */
export interface ContainerRecord {
  ID: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: StoredConfig;
  /** The image id (`sha256:…`). `Config.Image` keeps the reference as the user typed it. */
  Image: string;
  Name: string;
  Driver: string;
  Platform: string;
  State: ContainerState;
  RestartCount: number;
  HasBeenStartedBefore: boolean;
  HasBeenManuallyStopped: boolean;
  LogPath: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  /** Networks, endpoints and published ports (Docker's NetworkSettings); runtime fields are
   * cleared when the container stops. Absent in records written before networking existed. */
  NetworkSettings?: ContainerNetworkSettings;
}

export interface ContainerRecordWithHost {
  record: ContainerRecord;
  hostConfig: HostConfigInput;
}

export function initialState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

export function markRunning(state: ContainerState, pid: number, now: Date): void {
  Object.assign(state, {
    Status: 'running',
    Running: true,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: pid,
    ExitCode: 0,
    Error: '',
    StartedAt: now.toISOString(),
  } satisfies Partial<ContainerState>);
}

export function markExited(
  state: ContainerState,
  exit: { exitCode: number; oomKilled: boolean; at: Date; error?: string },
): void {
  Object.assign(state, {
    Status: 'exited',
    Running: false,
    Paused: false,
    Restarting: false,
    Pid: 0,
    ExitCode: exit.exitCode,
    OOMKilled: exit.oomKilled,
    Error: exit.error ?? '',
    FinishedAt: exit.at.toISOString(),
  } satisfies Partial<ContainerState>);
}
