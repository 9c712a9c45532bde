/** Which cgroup hierarchy the machine uses, and the manager for a container's cgroup in it. */
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { unavailable } from '@tsdocker/core';
import { dirExists } from './cgroup-fs.js';
import type { CgroupLocation, CgroupManager, CgroupVersion } from './cgroup-manager.js';
import { CgroupV1Manager, V1_CONTROLLERS } from './v1.js';
import { CgroupV2Manager } from './v2.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * v2 only when the root itself is a cgroup2 mount (a "unified" machine). A hybrid machine (v1
 * controllers, plus an empty cgroup2 at <root>/unified) is v1.
 */
export async function detectCgroupVersion(root = '/sys/fs/cgroup'): Promise<CgroupVersion> {
  try {
    if ((await statfs(root)).type === CGROUP2_SUPER_MAGIC) return 2;
  } catch (err) {
    throw unavailable(`cgroups: cannot stat ${root}: ${(err as Error).message}`, err);
  }
  for (const controller of V1_CONTROLLERS) if (await dirExists(join(root, controller))) return 1;
  throw unavailable(`cgroups: no cgroup v2 or v1 hierarchy is mounted at ${root}`);
}

export async function openCgroupManager(
  version: CgroupVersion,
  location: CgroupLocation,
): Promise<CgroupManager> {
  return version === 2 ? new CgroupV2Manager(location) : CgroupV1Manager.open(location);
}
