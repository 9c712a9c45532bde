export type { CgroupLocation, CgroupManager, CgroupVersion } from './cgroup-manager.js';
export {
  cpuSharesToWeight,
  deviceAllowRules,
  deviceCgroupWrites,
  memoryPlusSwap,
  validateResources,
} from './conversions.js';
export { detectCgroupVersion, openCgroupManager } from './detect.js';
export { CgroupV1Manager } from './v1.js';
export { CgroupV2Manager } from './v2.js';
