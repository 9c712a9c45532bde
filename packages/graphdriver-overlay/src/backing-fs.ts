/** The filesystem under the driver's directory, named as `docker info` names it (moby's FsNames). */
import { statfs } from 'node:fs/promises';

export const FS_MAGIC_OVERLAY = 0x794c7630;
const FS_MAGIC_AUFS = 0x61756673;
const FS_MAGIC_ECRYPTFS = 0x0000f15f;

const FS_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0000ef53, 'extfs'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [FS_MAGIC_OVERLAY, 'overlayfs'],
  [0x2fc12fc1, 'zfs'],
  [0x00006969, 'nfs'],
  [FS_MAGIC_AUFS, 'aufs'],
  [FS_MAGIC_ECRYPTFS, 'ecryptfs'],
  [0xf2f52010, 'f2fs'],
  [0x3153464a, 'jfs'],
  [0x858458f6, 'ramfs'],
  [0x52654973, 'reiserfs'],
  [0x73717368, 'squashfs'],
  [0x65735546, 'fuse'],
]);

/** Filesystems overlayfs cannot take as upper layer; the value says why. */
const INCOMPATIBLE: ReadonlyMap<number, string> = new Map([
  [FS_MAGIC_OVERLAY, 'overlayfs cannot use an overlay filesystem as its upper layer'],
  [FS_MAGIC_AUFS, 'overlayfs cannot stack on aufs'],
  [FS_MAGIC_ECRYPTFS, 'overlayfs cannot stack on ecryptfs'],
]);

export interface BackingFs {
  name: string;
  /** Why overlay cannot live on it, or null. */
  incompatible: string | null;
}

export async function backingFilesystem(path: string): Promise<BackingFs> {
  const type = (await statfs(path)).type >>> 0;
  return { name: FS_NAMES.get(type) ?? '<unknown>', incompatible: INCOMPATIBLE.get(type) ?? null };
}
