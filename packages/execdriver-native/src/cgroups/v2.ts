/**
 * cgroup v2: one unified hierarchy; the container's cgroup is `<root>/<path>` and its ancestors
 * delegate the controllers it needs through `cgroup.subtree_control`.
 */
import { join } from 'node:path';
import {
  type ContainerStats,
  type DeviceSpec,
  type MountSpec,
  notSupported,
  type Resources,
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
} from './cgroup-fs.js';
import type { CgroupLocation, CgroupManager } from './cgroup-manager.js';
import { cpuSharesToWeight, memoryPlusSwap, pidsMax, validateResources } from './conversions.js';

const WANTED_CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids'];
const DEFAULT_CFS_PERIOD = 100_000;

export class CgroupV2Manager implements CgroupManager {
  readonly version = 2;
  /** Device rules on v2 are an eBPF program attached to the cgroup, which this driver lacks. */
  readonly enforcesDeviceAllowlist = false;
  private readonly dir: string;

  constructor(private readonly location: CgroupLocation) {
    this.dir = join(location.root, location.path);
  }

  mountsFor(destination: string, options: readonly string[]): MountSpec[] {
    return [{ destination, type: 'cgroup', source: 'cgroup', options: [...options] }];
  }

  async create(resources: Resources, _devices: readonly DeviceSpec[]): Promise<void> {
    validateResources(resources);
    await this.delegateControllers();
    await makeCgroupDir(this.dir);
    const available = new Set(
      ((await readCgroupFile(join(this.dir, 'cgroup.controllers'))) ?? '').split(/\s+/),
    );
    const need = (controller: string, what: string) => {
      if (!available.has(controller))
        throw notSupported(
          `${what} needs the cgroup v2 ${controller} controller, which is not enabled for ${this.dir}`,
        );
    };

    if (resources.memory) {
      need('memory', 'A memory limit');
      await writeCgroupFile(join(this.dir, 'memory.max'), resources.memory);
      const memsw = memoryPlusSwap(resources);
      const swapFile = join(this.dir, 'memory.swap.max');
      if (memsw !== undefined && (await readCgroupFile(swapFile)) !== undefined)
        await writeCgroupFile(swapFile, memsw === -1 ? 'max' : memsw - resources.memory);
    }
    if (resources.cpuShares) {
      need('cpu', 'CPU shares');
      await writeCgroupFile(join(this.dir, 'cpu.weight'), cpuSharesToWeight(resources.cpuShares));
    }
    if (resources.cpuQuota || resources.cpuPeriod) {
      need('cpu', 'A CPU quota');
      const quota = resources.cpuQuota && resources.cpuQuota > 0 ? String(resources.cpuQuota) : 'max';
      await writeCgroupFile(
        join(this.dir, 'cpu.max'),
        `${quota} ${resources.cpuPeriod || DEFAULT_CFS_PERIOD}`,
      );
    }
    if (resources.pidsLimit !== undefined) {
      if (resources.pidsLimit > 0) need('pids', 'A pids limit');
      if (available.has('pids'))
        await writeCgroupFile(join(this.dir, 'pids.max'), pidsMax(resources.pidsLimit));
    }
  }

  /** Enables the wanted controllers in every ancestor's subtree_control, from the root down. */
  private async delegateControllers(): Promise<void> {
    let level = this.location.root;
    for (const segment of this.location.path.split('/').filter(Boolean)) {
      const offered = ((await readCgroupFile(join(level, 'cgroup.controllers'))) ?? '').split(/\s+/);
      const enable = WANTED_CONTROLLERS.filter((c) => offered.includes(c));
      if (enable.length > 0)
        await writeCgroupFile(join(level, 'cgroup.subtree_control'), enable.map((c) => `+${c}`).join(' '));
      level = join(level, segment);
      await makeCgroupDir(level);
    }
  }

  joinFiles(): string[] {
    return [join(this.dir, 'cgroup.procs')];
  }

  oomEventsFile(): string | undefined {
    return join(this.dir, 'memory.events');
  }

  exists(): Promise<boolean> {
    return dirExists(this.dir);
  }

  pids(): Promise<number[]> {
    return readPids(join(this.dir, 'cgroup.procs'));
  }

  async freeze(): Promise<void> {
    await this.setFrozen(true);
  }

  async thaw(): Promise<void> {
    await this.setFrozen(false);
  }

  private async setFrozen(frozen: boolean): Promise<void> {
    await writeCgroupFile(join(this.dir, 'cgroup.freeze'), frozen ? '1' : '0');
    const events = join(this.dir, 'cgroup.events');
    const want = frozen ? 1 : 0;
    await waitUntil(
      `${events} to report frozen ${want}`,
      async () => (await readCgroupKeyed(events)).get('frozen') === want,
    );
  }

  async stats(): Promise<ContainerStats> {
    const stats: ContainerStats = {};
    const usage = await readCgroupNumber(join(this.dir, 'memory.current'));
    if (usage !== undefined) {
      const inactive = (await readCgroupKeyed(join(this.dir, 'memory.stat'))).get('inactive_file') ?? 0;
      stats.memoryUsage = Math.max(0, usage - inactive);
    }
    const limit = await readCgroupNumber(join(this.dir, 'memory.max'));
    if (limit !== undefined) stats.memoryLimit = limit;
    const cpuUsec = (await readCgroupKeyed(join(this.dir, 'cpu.stat'))).get('usage_usec');
    if (cpuUsec !== undefined) stats.cpuUsageNanos = cpuUsec * 1000;
    const pids = await readCgroupNumber(join(this.dir, 'pids.current'));
    if (pids !== undefined) stats.pids = pids;
    return stats;
  }

  async destroy(): Promise<void> {
    if (!(await dirExists(this.dir))) return;
    // cgroup.kill (5.14+) kills everything at once, frozen or not; otherwise thaw and kill each.
    const killFile = join(this.dir, 'cgroup.kill');
    const canKill = (await readCgroupFile(killFile)) !== undefined;
    if (!canKill && (await readCgroupKeyed(join(this.dir, 'cgroup.events'))).get('frozen') === 1)
      await this.thaw();
    await waitUntil(`the processes of ${this.location.path} to exit`, async () => {
      const pids = await this.pids();
      if (pids.length > 0) {
        if (canKill) await writeCgroupFile(killFile, '1');
        else killAll(pids);
      }
      return pids.length === 0;
    });
    await removeCgroupDir(this.dir);
  }
}
