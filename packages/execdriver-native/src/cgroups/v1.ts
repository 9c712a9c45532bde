/**
 * cgroup v1: one hierarchy per controller under the root (`<root>/memory/<path>`, …). Combined
 * mounts such as `cpu,cpuacct` are reached through the usual `cpu` / `cpuacct` symlinks and
 * deduplicated by their real path.
 */
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ContainerStats,
  type DeviceSpec,
  type MountSpec,
  notSupported,
  type Resources,
  settleAll,
} from '@tsdocker/core';
import {
  dirExists,
  killAll,
  makeCgroupDir,
  readCgroupFile,
  readCgroupKeyed,
  readCgroupNumber,
  readPids,
  removeCgroupDir,
  waitUntil,
  writeCgroupFile,
  writeCgroupFileNow,
} from './cgroup-fs.js';
import type { CgroupLocation, CgroupManager } from './cgroup-manager.js';
import { deviceCgroupWrites, memoryPlusSwap, pidsMax, validateResources } from './conversions.js';

export const V1_CONTROLLERS = [
  'memory',
  'cpu',
  'cpuacct',
  'pids',
  'freezer',
  'devices',
  'blkio',
  'cpuset',
] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/** memory.limit_in_bytes reads this (or close to it) when unlimited. */
const UNLIMITED_THRESHOLD = 2 ** 62;

export class CgroupV1Manager implements CgroupManager {
  readonly version = 1;
  readonly enforcesDeviceAllowlist: boolean;
  /** Controller -> the container's directory in that controller's hierarchy. */
  private readonly dirs: ReadonlyMap<V1Controller, string>;

  private constructor(
    private readonly location: CgroupLocation,
    /** Controller → where its hierarchy is mounted (real path). */
    private readonly mounts: ReadonlyMap<V1Controller, string>,
  ) {
    this.enforcesDeviceAllowlist = mounts.has('devices');
    this.dirs = new Map([...mounts].map(([c, m]) => [c, join(m, location.path)]));
  }

  /** Finds the mounted controllers under `root`; the container's directories are not created yet. */
  static async open(location: CgroupLocation): Promise<CgroupV1Manager> {
    // Looked up side by side (this is on the path of every start), kept in the list's order.
    const found = await Promise.all(
      V1_CONTROLLERS.map(async (controller) => {
        const mount = join(location.root, controller);
        // cpu and cpuacct may be one hierarchy: both names then lead to the same real directory.
        return (await dirExists(mount)) ? ([controller, await realpath(mount)] as const) : undefined;
      }),
    );
    return new CgroupV1Manager(location, new Map(found.filter((entry) => entry !== undefined)));
  }

  mountsFor(destination: string, options: readonly string[]): MountSpec[] {
    // Read-only unless the spec asks for `rw` (`--privileged`, `writable-cgroups=true`).
    const access = options.includes('rw') && !options.includes('ro') ? 'rw' : 'ro';
    const flags = options.filter((o) => o !== 'rw' && o !== 'ro');
    const mounts: MountSpec[] = [
      { destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'nodev', 'mode=755'] },
    ];
    for (const [controller, dir] of this.dirs) {
      mounts.push({
        destination: `${destination}/${controller}`,
        type: 'bind',
        source: dir,
        options: ['rbind', ...new Set([access, 'nosuid', 'noexec', 'nodev', ...flags])],
      });
    }
    // As runc does: the tmpfs holding the binds becomes read-only once they are in place.
    if (access === 'ro')
      mounts.push({
        destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['remount', 'ro', 'nosuid', 'noexec', 'nodev', 'mode=755'],
      });
    return mounts;
  }

  private dir(controller: V1Controller): string | undefined {
    return this.dirs.get(controller);
  }

  private uniqueDirs(): string[] {
    return [...new Set(this.dirs.values())];
  }

  private require(controller: V1Controller, what: string): string {
    const dir = this.dir(controller);
    if (!dir)
      throw notSupported(
        `${what} needs the cgroup v1 ${controller} controller, which is not mounted under ${this.location.root}`,
      );
    return dir;
  }

  async create(resources: Resources, devices: readonly DeviceSpec[]): Promise<void> {
    validateResources(resources);
    if (resources.memory) this.require('memory', 'A memory limit');
    if (resources.cpuShares || resources.cpuQuota || resources.cpuPeriod) this.require('cpu', 'A CPU limit');
    if (resources.pidsLimit !== undefined && resources.pidsLimit > 0) this.require('pids', 'A pids limit');

    // Controllers are independent: their directories, then their limits, are made side by side.
    await settleAll(
      [...this.mounts].map(([controller, mount]) =>
        controller === 'cpuset' ? this.createCpuset(mount) : makeCgroupDir(join(mount, this.location.path)),
      ),
    );
    await settleAll([
      this.limitMemory(resources),
      this.limitCpu(resources),
      this.limitPids(resources),
      this.allowDevices(resources, devices),
    ]);
  }

  private async limitMemory(resources: Resources): Promise<void> {
    const memory = this.dir('memory');
    if (!memory || !resources.memory) return;
    await writeCgroupFile(join(memory, 'memory.limit_in_bytes'), resources.memory);
    const memsw = memoryPlusSwap(resources);
    // Only present with swap accounting; without it there is no swap to limit.
    if (
      memsw !== undefined &&
      (await readCgroupFile(join(memory, 'memory.memsw.limit_in_bytes'))) !== undefined
    )
      await writeCgroupFile(join(memory, 'memory.memsw.limit_in_bytes'), memsw);
  }

  private async limitCpu(resources: Resources): Promise<void> {
    const cpu = this.dir('cpu');
    if (!cpu) return;
    if (resources.cpuShares) await writeCgroupFile(join(cpu, 'cpu.shares'), resources.cpuShares);
    if (resources.cpuPeriod) await writeCgroupFile(join(cpu, 'cpu.cfs_period_us'), resources.cpuPeriod);
    if (resources.cpuQuota) await writeCgroupFile(join(cpu, 'cpu.cfs_quota_us'), resources.cpuQuota);
  }

  private async limitPids(resources: Resources): Promise<void> {
    const pids = this.dir('pids');
    if (pids && resources.pidsLimit !== undefined)
      await writeCgroupFile(join(pids, 'pids.max'), pidsMax(resources.pidsLimit));
  }

  /** In order: the rules start with a deny of everything, then allow. */
  private async allowDevices(resources: Resources, devices: readonly DeviceSpec[]): Promise<void> {
    const devicesDir = this.dir('devices');
    if (!devicesDir) return;
    for (const { file, rule } of deviceCgroupWrites(resources.devices, devices))
      writeCgroupFileNow(join(devicesDir, file), rule);
  }

  /** A new cpuset cgroup starts with no CPUs and no memory nodes: inherit the parent's, level by level. */
  private async createCpuset(mount: string): Promise<void> {
    let parent = mount;
    for (const segment of this.location.path.split('/').filter(Boolean)) {
      const dir = join(parent, segment);
      const above = parent;
      await makeCgroupDir(dir);
      await settleAll(
        ['cpuset.cpus', 'cpuset.mems'].map(async (file) => {
          const own = (await readCgroupFile(join(dir, file)))?.trim();
          if (own) return;
          const inherited = (await readCgroupFile(join(above, file)))?.trim();
          if (inherited) await writeCgroupFile(join(dir, file), inherited);
        }),
      );
      parent = dir;
    }
  }

  joinFiles(): string[] {
    return this.uniqueDirs().map((d) => join(d, 'tasks'));
  }

  oomEventsFile(): string | undefined {
    const memory = this.dir('memory');
    return memory ? join(memory, 'memory.oom_control') : undefined;
  }

  /** Where processes are listed: every controller has them all; prefer the always-present ones. */
  private listingDir(): string | undefined {
    return this.dir('pids') ?? this.dir('freezer') ?? this.dir('memory') ?? this.uniqueDirs()[0];
  }

  async exists(): Promise<boolean> {
    const dir = this.listingDir();
    return dir !== undefined && dirExists(dir);
  }

  async pids(): Promise<number[]> {
    const dir = this.listingDir();
    return dir ? readPids(join(dir, 'cgroup.procs')) : [];
  }

  async freeze(): Promise<void> {
    await this.setFreezerState('FROZEN');
  }

  async thaw(): Promise<void> {
    await this.setFreezerState('THAWED');
  }

  private async setFreezerState(state: 'FROZEN' | 'THAWED'): Promise<void> {
    const file = join(this.require('freezer', 'Pausing a container'), 'freezer.state');
    await writeCgroupFile(file, state);
    // FREEZING is transitional: wait until every task has actually stopped (or resumed).
    await waitUntil(`${file} to read ${state}`, async () => (await readCgroupFile(file))?.trim() === state);
  }

  async stats(): Promise<ContainerStats> {
    const stats: ContainerStats = {};
    const memory = this.dir('memory');
    if (memory) {
      const usage = await readCgroupNumber(join(memory, 'memory.usage_in_bytes'));
      const inactive = (await readCgroupKeyed(join(memory, 'memory.stat'))).get('total_inactive_file') ?? 0;
      if (usage !== undefined) stats.memoryUsage = Math.max(0, usage - inactive);
      const limit = await readCgroupNumber(join(memory, 'memory.limit_in_bytes'));
      if (limit !== undefined && limit < UNLIMITED_THRESHOLD) stats.memoryLimit = limit;
    }
    const cpuacct = this.dir('cpuacct');
    if (cpuacct) {
      const usage = await readCgroupNumber(join(cpuacct, 'cpuacct.usage'));
      if (usage !== undefined) stats.cpuUsageNanos = usage;
    }
    const pids = this.dir('pids');
    if (pids) {
      const current = await readCgroupNumber(join(pids, 'pids.current'));
      if (current !== undefined) stats.pids = current;
    }
    return stats;
  }

  async destroy(): Promise<void> {
    // Hierarchies side by side: this is on the path of every container removal.
    const dirs = this.uniqueDirs();
    const exists = await Promise.all(dirs.map((dir) => dirExists(dir)));
    const present = dirs.filter((_, i) => exists[i]);
    if (present.length === 0) return;

    // Frozen tasks cannot die: thaw first.
    const freezer = this.dir('freezer');
    if (freezer && present.includes(freezer)) {
      const state = (await readCgroupFile(join(freezer, 'freezer.state')))?.trim();
      if (state && state !== 'THAWED') await this.thaw();
    }
    const remaining = async () => {
      const listed = await Promise.all(present.map((dir) => readPids(join(dir, 'cgroup.procs'))));
      return [...new Set(listed.flat())];
    };
    await waitUntil(`the processes of ${this.location.path} to exit`, async () => {
      const pids = await remaining();
      killAll(pids);
      return pids.length === 0;
    });
    await settleAll(present.map((dir) => removeCgroupDir(dir)));
  }
}
