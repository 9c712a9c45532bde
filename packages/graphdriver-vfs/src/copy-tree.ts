/**
 * Copies a layer's whole tree with everything in it: owners, permission bits (setuid included),
 * times, hardlinks, symlinks, device nodes, FIFOs and xattrs. Node's fs.cp cannot: it loses owners
 * and refuses device nodes and FIFOs. So this runs GNU `cp -a` (execFile, no shell);
 * `--reflink=auto` shares data blocks where the filesystem can (btrfs, xfs) and copies elsewhere.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { internal } from '@tsdocker/core';

const run = promisify(execFile);

/** Copies directory `source` to `target`, which must not exist yet. */
export async function copyTree(source: string, target: string): Promise<void> {
  try {
    await run('cp', ['-a', '--reflink=auto', '--', source, target]);
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw internal(`copying ${source} to ${target} failed: ${detail}`, err);
  }
}
