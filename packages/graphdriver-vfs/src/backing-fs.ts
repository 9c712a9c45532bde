/** The filesystem under the driver's directory, named as `docker info` names it (moby's FsNames). */
import { statfs } from 'node:fs/promises';

const FS_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0000ef53, 'extfs'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlayfs'],
  [0x2fc12fc1, 'zfs'],
  [0x00006969, 'nfs'],
  [0x61756673, 'aufs'],
  [0x0000f15f, 'ecryptfs'],
  [0xf2f52010, 'f2fs'],
  [0x3153464a, 'jfs'],
  [0x858458f6, 'ramfs'],
  [0x52654973, 'reiserfs'],
  [0x73717368, 'squashfs'],
  [0x65735546, 'fuse'],
]);

export async function backingFilesystem(path: string): Promise<string> {
  const { type } = await statfs(path);
  return FS_NAMES.get(type >>> 0) ?? '<unknown>';
}
