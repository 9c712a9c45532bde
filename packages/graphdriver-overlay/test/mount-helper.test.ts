/** The long-lived mount helper: syscalls on request, errno on failure, restart after close. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MOUNT_HELPER_PATH, MountHelper, MountSyscallError } from '../src/mount-helper.js';
import { isMountPoint } from '../src/mounts.js';
import { useTempRoots } from './helpers.js';

describe.runIf(existsSync(DEFAULT_MOUNT_HELPER_PATH))('mount helper', () => {
  const { tempRoot } = useTempRoots();

  it('mounts an overlay with paths relative to its cwd, and unmounts it', async () => {
    const root = await tempRoot();
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(join(root, d));
    await writeFile(join(root, 'lower', 'file'), 'from below');
    const helper = await MountHelper.find();
    expect(helper).not.toBeNull();
    await helper?.mount('lowerdir=lower,upperdir=upper,workdir=work', join(root, 'merged'), root);
    expect(await isMountPoint(join(root, 'merged'))).toBe(true);
    expect(await readFile(join(root, 'merged', 'file'), 'utf8')).toBe('from below');
    await helper?.unmount(join(root, 'merged'), false);
    expect(await isMountPoint(join(root, 'merged'))).toBe(false);
    helper?.close();
  });

  it('reports the errno of a failed call, and starts again after close', async () => {
    const root = await tempRoot();
    const helper = (await MountHelper.find()) as MountHelper;
    const failure = await helper.unmount(root, true).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MountSyscallError);
    expect((failure as MountSyscallError).errno).toBe(22); // EINVAL: not a mount point
    helper.close();
    const again = await helper.unmount(join(root, 'missing'), true).catch((err: unknown) => err);
    expect((again as MountSyscallError).errno).toBe(2); // ENOENT
    helper.close();
  });

  it('is absent rather than broken when not installed', async () => {
    expect(await MountHelper.find('/nonexistent/tsd-mount')).toBeNull();
  });
});
