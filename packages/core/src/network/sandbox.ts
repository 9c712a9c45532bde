/**
 * Sandboxes: one network namespace per container, made before the container starts and kept
 * alive by a bind mount of the namespace file at `<exec-root>/netns/<container id>` (Docker uses
 * `/var/run/docker/netns/<id>`). The exec driver joins that path; network drivers put interfaces
 * into it by the same path. Unmounting the file (after the container's processes are gone) frees
 * the namespace and with it every interface inside, so a veth can never outlive its container.
 *
 * Node cannot unshare or setns, so util-linux's `unshare --net=<file>` makes the namespace and runs
 * `ip` inside it. Every helper process costs a fork and an exec on the container's critical path
 * (tens of ms on a busy host), so each step spawns as few as it can.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { internal } from '../errors.js';

const run = promisify(execFile);

function detail(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim();
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

export class Sandboxes {
  constructor(readonly dir: string) {}

  keyFor(containerId: string): string {
    return join(this.dir, containerId);
  }

  /** Creates the namespace with loopback up. Nothing is left behind when it fails. */
  async create(containerId: string): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const key = this.keyFor(containerId);
    await this.remove(containerId);
    try {
      await writeFile(key, '', { mode: 0o600 });
      // One process: `unshare` binds the new namespace to `key`, then runs `ip` inside it.
      await run('unshare', [`--net=${key}`, 'ip', 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await this.remove(containerId);
      throw internal(`failed to create the network namespace for ${containerId}: ${detail(err)}`, err);
    }
    return key;
  }

  /** Unmounts and removes a sandbox. Idempotent. */
  async remove(containerId: string): Promise<void> {
    const key = this.keyFor(containerId);
    // No file, no mount: a mount point cannot be unlinked, so the common case (the sandbox is
    // already gone, or was never made) needs no `umount` process.
    if (!(await exists(key))) return;
    // EINVAL (not mounted) and ENOENT are both fine here.
    await run('umount', ['-l', key]).catch(() => {});
    await rm(key, { force: true });
  }

  /** Every sandbox file present (after a crash, the ones to reconcile). */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return [];
    }
  }
}
