/**
 * A busybox rootfs tarball built offline from Debian's busybox-static (no registry), for
 * `docker import` in tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '@tsdocker/core/testkit';

/** Writes `<dir>/busybox-rootfs.tar` and returns its path. */
export async function buildBusyboxTar(dir: string): Promise<string> {
  const rootfs = mkdtempSync(join(tmpdir(), 'tsd-bbroot-'));
  try {
    await makeBusyboxRootfs(rootfs);
    const tarPath = join(dir, 'busybox-rootfs.tar');
    execFileSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', tarPath, '.']);
    return tarPath;
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}
