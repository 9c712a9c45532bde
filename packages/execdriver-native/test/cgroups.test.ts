import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDevices, TsdockerError } from '@tsdocker/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CgroupV1Manager,
  CgroupV2Manager,
  cpuSharesToWeight,
  detectCgroupVersion,
  deviceAllowRules,
  memoryPlusSwap,
} from '../src/cgroups/index.js';

const MiB = 1024 * 1024;
let root = '';
const read = (...parts: string[]) => readFile(join(root, ...parts), 'utf8');

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsdocker-cgroup-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fake v1 root: controller directories, cpu and cpuacct sharing one hierarchy as on most distros. */
async function fakeV1Root(
  controllers = ['memory', 'pids', 'freezer', 'devices', 'blkio', 'cpuset'],
): Promise<void> {
  for (const c of controllers) await mkdir(join(root, c));
  await mkdir(join(root, 'cpu,cpuacct'));
  await symlink('cpu,cpuacct', join(root, 'cpu'));
  await symlink('cpu,cpuacct', join(root, 'cpuacct'));
  if (controllers.includes('cpuset')) {
    await writeFile(join(root, 'cpuset', 'cpuset.cpus'), '0-3\n');
    await writeFile(join(root, 'cpuset', 'cpuset.mems'), '0\n');
  }
}

describe('cgroup v1 manager', () => {
  it('creates one directory per hierarchy and writes the limits', async () => {
    await fakeV1Root();
    // Swap accounting is on: the kernel would show memsw files in the new cgroup.
    await mkdir(join(root, 'memory/tsdocker/c1'), { recursive: true });
    await writeFile(join(root, 'memory/tsdocker/c1/memory.memsw.limit_in_bytes'), '');
    const cg = await CgroupV1Manager.open({ root, path: 'tsdocker/c1' });
    await cg.create(
      { memory: 32 * MiB, cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000, pidsLimit: 10 },
      defaultDevices(),
    );

    expect(await read('memory/tsdocker/c1/memory.limit_in_bytes')).toBe(String(32 * MiB));
    expect(await read('memory/tsdocker/c1/memory.memsw.limit_in_bytes')).toBe(String(64 * MiB));
    expect(await read('cpu,cpuacct/tsdocker/c1/cpu.shares')).toBe('512');
    expect(await read('cpu,cpuacct/tsdocker/c1/cpu.cfs_period_us')).toBe('100000');
    expect(await read('cpu,cpuacct/tsdocker/c1/cpu.cfs_quota_us')).toBe('50000');
    expect(await read('pids/tsdocker/c1/pids.max')).toBe('10');
    expect(await read('devices/tsdocker/c1/devices.deny')).toBe('a');
    expect(cg.enforcesDeviceAllowlist).toBe(true);
    expect(cg.joinFiles().sort()).toEqual(
      ['blkio', 'cpu,cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'].map((c) =>
        join(root, c, 'tsdocker/c1/tasks'),
      ),
    );
    expect(cg.oomEventsFile()).toBe(join(root, 'memory/tsdocker/c1/memory.oom_control'));
  });

  it('copies cpuset.cpus and cpuset.mems down to every new level', async () => {
    await fakeV1Root();
    const cg = await CgroupV1Manager.open({ root, path: 'tsdocker/c1' });
    await cg.create({}, []);
    for (const level of ['cpuset/tsdocker', 'cpuset/tsdocker/c1']) {
      expect(await read(level, 'cpuset.cpus')).toBe('0-3');
      expect(await read(level, 'cpuset.mems')).toBe('0');
    }
  });

  it('writes unlimited swap as -1 and leaves memsw alone without swap accounting', async () => {
    await fakeV1Root();
    await mkdir(join(root, 'memory/tsdocker/c1'), { recursive: true });
    await writeFile(join(root, 'memory/tsdocker/c1/memory.memsw.limit_in_bytes'), '');
    await (await CgroupV1Manager.open({ root, path: 'tsdocker/c1' })).create(
      { memory: MiB * 8, memorySwap: -1 },
      [],
    );
    expect(await read('memory/tsdocker/c1/memory.memsw.limit_in_bytes')).toBe('-1');

    await (await CgroupV1Manager.open({ root, path: 'tsdocker/c2' })).create({ memory: MiB * 8 }, []);
    await expect(read('memory/tsdocker/c2/memory.memsw.limit_in_bytes')).rejects.toThrow(/ENOENT/);
  });

  it('refuses limits for a controller that is not mounted, and bad combinations', async () => {
    await fakeV1Root(['pids', 'freezer']);
    const cg = await CgroupV1Manager.open({ root, path: 'tsdocker/c1' });
    await expect(cg.create({ memory: MiB }, [])).rejects.toThrow(/memory controller/);
    await expect(cg.create({ memory: 8 * MiB, memorySwap: 4 * MiB }, [])).rejects.toThrow(
      /larger than memory/,
    );
    await expect(cg.create({ memorySwap: 4 * MiB }, [])).rejects.toThrow(/set the Memory limit/);
    expect(cg.enforcesDeviceAllowlist).toBe(false);
  });

  it('freezes and thaws through freezer.state', async () => {
    await fakeV1Root();
    const cg = await CgroupV1Manager.open({ root, path: 'tsdocker/c1' });
    await cg.create({}, []);
    await cg.freeze();
    expect(await read('freezer/tsdocker/c1/freezer.state')).toBe('FROZEN');
    await cg.thaw();
    expect(await read('freezer/tsdocker/c1/freezer.state')).toBe('THAWED');
  });

  it('reads processes and usage', async () => {
    await fakeV1Root();
    const cg = await CgroupV1Manager.open({ root, path: 'tsdocker/c1' });
    expect(await cg.exists()).toBe(false);
    expect(await cg.pids()).toEqual([]);
    await cg.create({ memory: 16 * MiB }, []);
    expect(await cg.exists()).toBe(true);
    await writeFile(join(root, 'pids/tsdocker/c1/cgroup.procs'), '101\n202\n');
    await writeFile(join(root, 'pids/tsdocker/c1/pids.current'), '2\n');
    await writeFile(join(root, 'memory/tsdocker/c1/memory.usage_in_bytes'), '5000\n');
    await writeFile(join(root, 'memory/tsdocker/c1/memory.stat'), 'cache 100\ntotal_inactive_file 1000\n');
    await writeFile(join(root, 'cpu,cpuacct/tsdocker/c1/cpuacct.usage'), '123456789\n');
    expect(await cg.pids()).toEqual([101, 202]);
    expect(await cg.stats()).toEqual({
      memoryUsage: 4000,
      memoryLimit: 16 * MiB,
      cpuUsageNanos: 123456789,
      pids: 2,
    });
  });

  it('names the operation and the path when the kernel refuses', async () => {
    await fakeV1Root();
    const cg = await CgroupV1Manager.open({ root, path: 'tsdocker/c1' });
    await cg.create({}, []);
    // A plain directory with files in it cannot be removed the way an empty cgroup can.
    const err = await cg.destroy().catch((e: unknown) => e);
    expect(TsdockerError.is(err)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`^cgroup: remove ${root}/\\S+/tsdocker/c1: ENOTEMPTY`));
  });

  it('destroys nothing when there is nothing', async () => {
    await fakeV1Root();
    await (await CgroupV1Manager.open({ root, path: 'tsdocker/never-created' })).destroy();
  });
});

describe('cgroup v2 manager', () => {
  async function fakeV2Root(): Promise<void> {
    await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    await mkdir(join(root, 'tsdocker'));
    await writeFile(join(root, 'tsdocker/cgroup.controllers'), 'cpuset cpu io memory pids\n');
    // What the kernel shows in the new cgroup once its parent delegates the controllers.
    await mkdir(join(root, 'tsdocker/c1'));
    await writeFile(join(root, 'tsdocker/c1/cgroup.controllers'), 'cpuset cpu io memory pids\n');
    await writeFile(join(root, 'tsdocker/c1/memory.swap.max'), 'max\n');
  }

  it('delegates controllers down the tree and writes the limits', async () => {
    await fakeV2Root();
    const cg = new CgroupV2Manager({ root, path: 'tsdocker/c1' });
    await cg.create({ memory: 32 * MiB, cpuShares: 1024, cpuQuota: 50_000, pidsLimit: 0 }, defaultDevices());
    expect(await read('cgroup.subtree_control')).toBe('+cpu +cpuset +io +memory +pids');
    expect(await read('tsdocker/cgroup.subtree_control')).toBe('+cpu +cpuset +io +memory +pids');
    expect(await read('tsdocker/c1/memory.max')).toBe(String(32 * MiB));
    expect(await read('tsdocker/c1/memory.swap.max')).toBe(String(32 * MiB)); // Docker: swap = memory by default
    expect(await read('tsdocker/c1/cpu.weight')).toBe('39');
    expect(await read('tsdocker/c1/cpu.max')).toBe('50000 100000');
    expect(await read('tsdocker/c1/pids.max')).toBe('max');
    expect(cg.joinFiles()).toEqual([join(root, 'tsdocker/c1/cgroup.procs')]);
    expect(cg.oomEventsFile()).toBe(join(root, 'tsdocker/c1/memory.events'));
    expect(cg.enforcesDeviceAllowlist).toBe(false);
  });

  it('freezes through cgroup.freeze and waits for cgroup.events', async () => {
    await fakeV2Root();
    const cg = new CgroupV2Manager({ root, path: 'tsdocker/c1' });
    await writeFile(join(root, 'tsdocker/c1/cgroup.events'), 'populated 1\nfrozen 1\n');
    await cg.freeze();
    expect(await read('tsdocker/c1/cgroup.freeze')).toBe('1');
  });

  it('reads usage from memory.current, cpu.stat and pids.current', async () => {
    await fakeV2Root();
    const cg = new CgroupV2Manager({ root, path: 'tsdocker/c1' });
    await writeFile(join(root, 'tsdocker/c1/memory.current'), '8192\n');
    await writeFile(join(root, 'tsdocker/c1/memory.stat'), 'anon 4096\ninactive_file 1024\n');
    await writeFile(join(root, 'tsdocker/c1/memory.max'), 'max\n');
    await writeFile(join(root, 'tsdocker/c1/cpu.stat'), 'usage_usec 1500\nuser_usec 1000\n');
    await writeFile(join(root, 'tsdocker/c1/pids.current'), '3\n');
    expect(await cg.stats()).toEqual({ memoryUsage: 7168, cpuUsageNanos: 1_500_000, pids: 3 });
  });
});

describe('conversions', () => {
  it('maps cpu shares to weights like runc', () => {
    expect(cpuSharesToWeight(2)).toBe(1);
    expect(cpuSharesToWeight(1024)).toBe(39);
    expect(cpuSharesToWeight(262144)).toBe(10000);
  });

  it('defaults memory+swap to twice the memory, as Docker does', () => {
    expect(memoryPlusSwap({})).toBeUndefined();
    expect(memoryPlusSwap({ memory: 100 })).toBe(200);
    expect(memoryPlusSwap({ memory: 100, memorySwap: 300 })).toBe(300);
    expect(memoryPlusSwap({ memory: 100, memorySwap: -1 })).toBe(-1);
  });

  it('allows the default devices, pts, and each device of the spec once', () => {
    const rules = deviceAllowRules([
      ...defaultDevices(),
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
    expect(rules).toContain('c 1:3 rwm');
    expect(rules).toContain('c 136:* rwm');
    expect(rules).toContain('c 10:229 rwm');
    expect(rules.filter((r) => r === 'c 1:3 rwm')).toHaveLength(1);
    expect(rules).not.toContain('b *:* rwm');
  });
});

describe('cgroup version detection', () => {
  it('says v1 for a tree of controller directories and refuses an empty one', async () => {
    await expect(detectCgroupVersion(root)).rejects.toThrow(/no cgroup v2 or v1 hierarchy/);
    await mkdir(join(root, 'memory'));
    expect(await detectCgroupVersion(root)).toBe(1);
  });
});
