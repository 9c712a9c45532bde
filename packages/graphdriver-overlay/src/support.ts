/**
 * Whether overlay2 can work in a directory, and with which features: moby's Init checks
 * (kernel support, backing filesystem, d_type) and its native-diff self-test, done with a trial
 * overlay in a scratch directory of the driver's home. Every "no" says exactly why.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OVERLAY_OPAQUE_XATTR, setExtendedAttributes } from '@tsdocker/core';
import { backingFilesystem } from './backing-fs.js';
import { mountOverlay, unmountAllUnder } from './mounts.js';
import { readXattr } from './opaque-dirs.js';

const run = promisify(execFile);
const OVERLAY_PARAMETERS = '/sys/module/overlay/parameters';

export interface OverlayFeatures {
  /** `docker info`'s name of the filesystem under the driver's home (`extfs`, `xfs`, …). */
  backingFs: string;
  supportsDType: boolean;
  usingMetacopy: boolean;
  /** Whether diff and changes may read the upper directory directly (else the naive diff). */
  nativeDiff: boolean;
  /** Why the native diff is off, for the log. */
  naiveDiffReason: string | null;
  /** What every overlay mount of the driver starts with (`index=off,redirect_dir=off,…,`). */
  mountOptionsPrefix: string;
}

export type SupportResult =
  | { supported: true; features: OverlayFeatures }
  | { supported: false; reason: string };

const unsupported = (reason: string): SupportResult => ({ supported: false, reason });
const detail = (err: unknown) => (err as { stderr?: string }).stderr?.trim() || (err as Error).message;

/** Checks `home` (the driver's existing state directory) and returns the features to use there. */
export async function checkOverlaySupport(stateDir: string): Promise<SupportResult> {
  if (process.platform !== 'linux') return unsupported(`overlayfs is Linux's, not ${process.platform}'s`);
  const uid = process.getuid?.();
  if (uid !== 0) return unsupported(`mounting overlays needs root (running as uid ${uid})`);

  const missingTool = await findMissingTool();
  if (missingTool) return unsupported(missingTool);

  const kernel = await kernelSupport();
  if (kernel) return unsupported(kernel);

  const home = await realpath(stateDir); // mount points are listed by canonical path
  const fs = await backingFilesystem(home);
  if (fs.incompatible) {
    return unsupported(
      `the backing filesystem of ${home} is ${fs.name}, and ${fs.incompatible}; put the data root on another filesystem (a volume, for a daemon in a container) or use the vfs driver`,
    );
  }

  const mountOptionsPrefix = await mountOptionsPrefixFor();
  let trial: TrialResult;
  try {
    trial = await trialMount(home, mountOptionsPrefix);
  } catch (err) {
    return unsupported(`a trial overlay mount on ${home} (${fs.name}) failed: ${detail(err)}`);
  }
  if (!trial.supportsDType) {
    return unsupported(
      `the backing filesystem of ${home} (${fs.name}) has no d_type support, so overlayfs cannot hide deleted files; reformat it with d_type (xfs: mkfs.xfs -n ftype=1) or use the vfs driver`,
    );
  }
  return {
    supported: true,
    features: {
      backingFs: fs.name,
      supportsDType: true,
      // metacopy is turned off in every mount where the kernel knows it (see mountOptionsPrefixFor).
      usingMetacopy: false,
      nativeDiff: trial.naiveDiffReason === null,
      naiveDiffReason: trial.naiveDiffReason,
      mountOptionsPrefix,
    },
  };
}

async function findMissingTool(): Promise<string | null> {
  const tools: Array<[string, string]> = [
    ['mount', 'util-linux'],
    ['umount', 'util-linux'],
    ['getfattr', 'attr'],
    ['setfattr', 'attr'],
    ['mknod', 'coreutils'],
  ];
  for (const [tool, pkg] of tools) {
    try {
      await run(tool, ['--version']);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return `overlay2 needs the ${tool} command (install the "${pkg}" package)`;
    }
  }
  return null;
}

async function hasOverlayFilesystem(filesystemsPath: string): Promise<boolean> {
  const filesystems = await readFile(filesystemsPath, 'utf8');
  return filesystems.split('\n').some((line) => line.split('\t').at(-1) === 'overlay');
}

/**
 * null when the kernel has overlayfs (loading the module if needed), else why not. The paths are
 * parameters for tests only.
 */
export async function kernelSupport(
  filesystemsPath = '/proc/filesystems',
  modprobe = 'modprobe',
): Promise<string | null> {
  if (await hasOverlayFilesystem(filesystemsPath)) return null;
  let why: string;
  try {
    await run(modprobe, ['overlay']);
    if (await hasOverlayFilesystem(filesystemsPath)) return null;
    why = 'modprobe overlay succeeded, but the filesystem did not appear';
  } catch (err) {
    why = `modprobe overlay failed: ${detail(err)}`;
  }
  return `the kernel does not support overlayfs: "overlay" is not in /proc/filesystems, and ${why}`;
}

/**
 * index=off as moby sets it (shared lower layers would otherwise fail with EBUSY); redirect_dir
 * and metacopy off, so that an upper directory always holds whole files and whole directories,
 * which the native diff relies on. Each only where the kernel knows the option.
 */
async function mountOptionsPrefixFor(): Promise<string> {
  let prefix = '';
  for (const option of ['index', 'redirect_dir', 'metacopy']) {
    const known = await access(join(OVERLAY_PARAMETERS, option)).then(
      () => true,
      () => false,
    );
    if (known) prefix += `${option}=off,`;
  }
  return prefix;
}

interface TrialResult {
  supportsDType: boolean;
  naiveDiffReason: string | null;
}

/**
 * moby's doesSupportNativeDiff plus a d_type check, on a real overlay: l2 (with opaque d) over l1
 * (d, d1, x), upper l3. Copying up opaque d must not copy the opaque mark (old kernels did);
 * renaming d1 must not leave a redirect (CONFIG_OVERLAY_FS_REDIRECT_DIR); and after x is deleted,
 * a fresh mount must not list it: readdir finds whiteouts by d_type, without which they show.
 */
async function trialMount(home: string, prefix: string): Promise<TrialResult> {
  const dir = join(home, `.check-${randomBytes(6).toString('hex')}`);
  const merged = join(dir, 'merged');
  const data = `${prefix}lowerdir=l2:l1,upperdir=l3,workdir=work`;
  try {
    for (const d of ['l1/d', 'l1/d1', 'l2/d', 'l3', 'work', 'merged'])
      await mkdir(join(dir, d), { recursive: true });
    await writeFile(join(dir, 'l1/x'), 'x');
    await setExtendedAttributes(join(dir, 'l2/d'), [[OVERLAY_OPAQUE_XATTR, Buffer.from('y')]], 'trial layer');

    await mountOverlay(data, merged, dir);
    let renamed = true;
    try {
      await writeFile(join(merged, 'd/f'), '');
      await rm(join(merged, 'x'));
      await rename(join(merged, 'd1'), join(merged, 'd2')).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV') throw err;
        renamed = false; // no redirects: userspace copies instead, as it should
      });
    } finally {
      await unmountAllUnder(merged);
    }

    let naiveDiffReason: string | null = null;
    if ((await readXattr(join(dir, 'l3/d'), OVERLAY_OPAQUE_XATTR)) === 'y') {
      naiveDiffReason = 'opaque flag erroneously copied up, consider update to kernel 4.8 or later to fix';
    } else if (renamed && (await readXattr(join(dir, 'l3/d2'), 'trusted.overlay.redirect')) !== null) {
      naiveDiffReason = 'kernel has CONFIG_OVERLAY_FS_REDIRECT_DIR enabled';
    }

    await mountOverlay(data, merged, dir);
    let names: string[];
    try {
      names = await readdir(merged);
    } finally {
      await unmountAllUnder(merged);
    }
    return { supportsDType: !names.includes('x'), naiveDiffReason };
  } finally {
    await unmountAllUnder(dir).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
