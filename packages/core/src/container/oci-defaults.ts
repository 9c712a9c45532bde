/**
 * Docker's defaults for a container's spec (moby daemon/pkg/oci/defaults.go), kept in core so
 * every exec driver runs containers the same way. See docs/architecture.md.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { DeviceSpec, MountSpec } from '../drivers/exec-driver.js';

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** 64 MiB, moby's DefaultShmSize. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/**
 * Docker's default mounts. With a read-only root, moby adds `ro` to each of them except /proc,
 * /dev, /dev/pts, /dev/shm and /dev/mqueue (the ones a process needs to write to).
 */
export function defaultMounts(opts: { shmSize?: number; readonlyRootfs?: boolean } = {}): MountSpec[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${opts.shmSize ?? DEFAULT_SHM_SIZE}`],
    },
  ];
}

const node = (path: string, major: number, minor: number): DeviceSpec => ({
  path,
  type: 'c',
  major,
  minor,
  fileMode: 0o666,
  uid: 0,
  gid: 0,
});

/** The OCI runtime spec's default devices (runc also links /dev/ptmx, /dev/fd, /dev/std*). */
export function defaultDevices(): DeviceSpec[] {
  return [
    node('/dev/null', 1, 3),
    node('/dev/zero', 1, 5),
    node('/dev/full', 1, 7),
    node('/dev/random', 1, 8),
    node('/dev/urandom', 1, 9),
    node('/dev/tty', 5, 0),
  ];
}

/** moby's default masked paths (the per-CPU thermal_throttle dirs are added where they exist). */
export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

/** The default masked paths plus each CPU's `thermal_throttle` directory where it exists. */
export function defaultMaskedPaths(cpuRoot = '/sys/devices/system/cpu'): string[] {
  let cpus: string[] = [];
  try {
    cpus = readdirSync(cpuRoot).filter((name) => /^cpu\d+$/.test(name));
  } catch {
    // No sysfs: nothing more to hide.
  }
  const throttles = cpus
    .map((cpu) => `${cpuRoot}/${cpu}/thermal_throttle`)
    .filter((path) => existsSync(path));
  return [...DEFAULT_MASKED_PATHS, ...throttles];
}

export const DEFAULT_READONLY_PATHS = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];
