/**
 * The driver's options, from the config file's `exec-opts` (dockerd style `key=value`, keys
 * lower-cased by core) or an object. Keys are matched ignoring case, `-`, `_` and `.`.
 */
import { isAbsolute } from 'node:path';
import { invalidArgument } from '@tsdocker/core';
import { DEFAULT_SHIM_PATH } from './shim-binary.js';

export interface NativeExecDriverOptions {
  /** The compiled shim (default: this package's `build/tsd-shim`). */
  shimPath: string;
  /** Where the cgroup hierarchy is mounted. */
  cgroupRoot: string;
  /** Container cgroups are `<parent>/<id>` below the root (below each controller on v1). */
  cgroupParent: string;
}

export const DEFAULT_OPTIONS: NativeExecDriverOptions = {
  shimPath: DEFAULT_SHIM_PATH,
  cgroupRoot: '/sys/fs/cgroup',
  cgroupParent: 'tsdocker',
};

const normalize = (key: string) => key.toLowerCase().replace(/[-_.]/g, '');

export function parseOptions(raw: unknown): NativeExecDriverOptions {
  const options = { ...DEFAULT_OPTIONS };
  if (raw === undefined || raw === null) return options;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalidArgument('native exec driver options must be an object');
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (typeof value !== 'string') throw invalidArgument(`native exec driver option ${key} must be a string`);
    switch (normalize(key)) {
      case 'shimpath':
        if (!isAbsolute(value)) throw invalidArgument(`shim-path must be absolute: ${value}`);
        options.shimPath = value;
        break;
      case 'cgrouproot':
        if (!isAbsolute(value)) throw invalidArgument(`cgroup-root must be absolute: ${value}`);
        options.cgroupRoot = value;
        break;
      case 'cgroupparent': {
        const parent = value.replace(/^\/+|\/+$/g, '');
        if (!parent || parent.split('/').some((s) => s === '' || s === '.' || s === '..'))
          throw invalidArgument(`invalid cgroup-parent: ${value}`);
        options.cgroupParent = parent;
        break;
      }
      case 'nativecgroupdriver':
        // dockerd's `native.cgroupdriver`: this driver writes cgroupfs directly.
        if (value !== 'cgroupfs')
          throw invalidArgument(`native.cgroupdriver=${value} is not supported (only cgroupfs)`);
        break;
      default:
        throw invalidArgument(`unknown native exec driver option: ${key}`);
    }
  }
  return options;
}
