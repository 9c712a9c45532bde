/**
 * `--tmpfs /run:rw,size=64m` (`HostConfig.Tmpfs`): validated as moby does at create, and turned
 * into tmpfs mounts with Docker's defaults (noexec, nosuid, nodev, rprivate) merged with the
 * user's options, later ones winning (moby/sys mount.MergeTmpfsOptions).
 */
import { posix } from 'node:path';
import type { MountSpec } from '../drivers/exec-driver.js';
import { invalidArgument } from '../errors.js';

/** Flag options; options sharing a key (ro/rw, exec/noexec, …) override each other. */
const FLAG_KEYS: Record<string, string> = {
  ro: 'rdonly',
  rw: 'rdonly',
  suid: 'nosuid',
  nosuid: 'nosuid',
  dev: 'nodev',
  nodev: 'nodev',
  exec: 'noexec',
  noexec: 'noexec',
  sync: 'sync',
  async: 'sync',
  dirsync: 'dirsync',
  mand: 'mand',
  nomand: 'mand',
  atime: 'noatime',
  noatime: 'noatime',
  diratime: 'nodiratime',
  nodiratime: 'nodiratime',
  relatime: 'relatime',
  norelatime: 'relatime',
  strictatime: 'strictatime',
  nostrictatime: 'strictatime',
  private: 'propagation',
  rprivate: 'propagation',
  shared: 'propagation',
  rshared: 'propagation',
  slave: 'propagation',
  rslave: 'propagation',
  unbindable: 'propagation',
  runbindable: 'propagation',
};

/** `key=value` options tmpfs itself understands. */
const DATA_KEYS = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

const DEFAULT_OPTIONS = ['noexec', 'nosuid', 'nodev', 'rprivate'];

export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seenFlags = new Set<string>();
  const seenData = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const option = options[i]!;
    if (option === 'defaults' || option === '') continue;
    const flagKey = FLAG_KEYS[option];
    if (flagKey) {
      if (!seenFlags.has(flagKey)) out.unshift(option);
      seenFlags.add(flagKey);
      continue;
    }
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    if (eq < 0 || !DATA_KEYS.has(key) || /[,\0]/.test(option))
      throw invalidArgument(`Invalid tmpfs option ${JSON.stringify([option])}`);
    if (!seenData.has(key)) out.unshift(option);
    seenData.add(key);
  }
  return out;
}

export function validateTmpfsDestination(dest: string): void {
  if (posix.normalize(dest.replace(/\/+$/, '') || '/') === '/')
    throw invalidArgument("invalid specification: destination can't be '/'");
  if (!dest.startsWith('/'))
    throw invalidArgument(`invalid mount path: '${dest}' mount path must be absolute`);
}

/** Checks `HostConfig.Tmpfs` at create. */
export function validateTmpfs(tmpfs: Record<string, string> | null | undefined): void {
  for (const [dest, data] of Object.entries(tmpfs ?? {})) {
    validateTmpfsDestination(dest);
    mergeTmpfsOptions([...DEFAULT_OPTIONS, ...(data ? data.split(',') : [])]);
  }
}

export function tmpfsMounts(tmpfs: Record<string, string> | null | undefined): MountSpec[] {
  return Object.entries(tmpfs ?? {}).map(([dest, data]) => ({
    destination: posix.normalize(dest),
    type: 'tmpfs',
    source: 'tmpfs',
    options: mergeTmpfsOptions([...DEFAULT_OPTIONS, ...(data ? data.split(',') : [])]),
  }));
}
