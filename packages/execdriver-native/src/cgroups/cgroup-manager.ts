/**
 * One container's cgroups, whatever the hierarchy (like youki's libcgroups): create with limits,
 * list and freeze its processes, read its usage, destroy it. Implementations take the cgroup
 * root as a parameter so tests can point them at a temporary directory.
 */
import type { ContainerStats, DeviceSpec, MountSpec, Resources } from '@tsdocker/core';

export type CgroupVersion = 1 | 2;

export interface CgroupManager {
  readonly version: CgroupVersion;
  /** False where the device allowlist cannot be enforced (cgroup v2 needs an eBPF program). */
  readonly enforcesDeviceAllowlist: boolean;
  /** Creates the cgroup(s) and applies `resources` and the device allowlist. */
  create(resources: Resources, devices: readonly DeviceSpec[]): Promise<void>;
  /**
   * The files a process writes `0` into to join the container's cgroups itself: `tasks` on v1
   * (a write there moves the calling thread without the global lock that a `cgroup.procs`
   * write waits 5-20 ms for), `cgroup.procs` on v2.
   */
  joinFiles(): string[];
  /** The file whose `oom_kill N` line counts OOM kills (`memory.oom_control` / `memory.events`). */
  oomEventsFile(): string | undefined;
  /**
   * What a spec's `cgroup` mount at `destination` becomes inside the container: on v1 a tmpfs
   * with a read-only bind of the container's own directory per controller (as runc does); on
   * v2 a cgroup2 mount.
   */
  mountsFor(destination: string, options: readonly string[]): MountSpec[];
  /** Whether the cgroup exists (created and not destroyed). */
  exists(): Promise<boolean>;
  /** Host pids of every process in the cgroup; empty when it does not exist. */
  pids(): Promise<number[]>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  stats(): Promise<ContainerStats>;
  /** Kills every process still in the cgroup(s), then removes them. Idempotent. */
  destroy(): Promise<void>;
}

export interface CgroupLocation {
  /** Where the hierarchy is mounted: `/sys/fs/cgroup` (v1: one directory per controller). */
  root: string;
  /** The container's cgroup below the root (below each controller on v1), e.g. `tsdocker/<id>`. */
  path: string;
}
