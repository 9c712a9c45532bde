/**
 * What `HEAD /containers/{id}/archive` reports about a path (moby's `container.PathStat`, sent
 * base64-encoded in `X-Docker-Container-Path-Stat`). The CLI decodes `mode` as a Go
 * `os.FileMode`, whose type and special bits sit at other positions than POSIX `st_mode`'s, and
 * decides from it where a copy goes (CLI-FLOWS §5.16).
 */
import type { BigIntStats } from 'node:fs';
import { formatRfc3339Nano } from '../image/timestamps.js';
import type { PathStat } from '../services.js';

// Go's os.FileMode bits (io/fs). Numbers, not `1 << n`: bit 31 would come out negative.
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_DEVICE = 2 ** 26;
const GO_MODE_NAMED_PIPE = 2 ** 25;
const GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_CHAR_DEVICE = 2 ** 21;
const GO_MODE_STICKY = 2 ** 20;

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

/** A POSIX `st_mode` as Go's `os.FileMode` (what `fillFileStatFromSys` computes). */
export function goFileMode(stMode: number): number {
  let mode = stMode & 0o777;
  switch (stMode & S_IFMT) {
    case S_IFBLK:
      mode += GO_MODE_DEVICE;
      break;
    case S_IFCHR:
      mode += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE;
      break;
    case S_IFDIR:
      mode += GO_MODE_DIR;
      break;
    case S_IFIFO:
      mode += GO_MODE_NAMED_PIPE;
      break;
    case S_IFLNK:
      mode += GO_MODE_SYMLINK;
      break;
    case S_IFSOCK:
      mode += GO_MODE_SOCKET;
      break;
  }
  if (stMode & 0o2000) mode += GO_MODE_SETGID;
  if (stMode & 0o4000) mode += GO_MODE_SETUID;
  if (stMode & 0o1000) mode += GO_MODE_STICKY;
  return mode;
}

/** True when a Go `os.FileMode` says directory. */
export const isGoDirMode = (mode: number): boolean => mode >= GO_MODE_DIR;

/** The stat of `name` from its lstat; `linkTarget` is the symlink's target resolved in the container. */
export function pathStat(name: string, st: BigIntStats, linkTarget = ''): PathStat {
  return {
    name,
    size: Number(st.size),
    mode: goFileMode(Number(st.mode)),
    mtime: formatRfc3339Nano(st.mtimeNs),
    linkTarget,
  };
}
