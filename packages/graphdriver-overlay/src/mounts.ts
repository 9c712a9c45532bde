/**
 * Mounting and unmounting overlays, and finding mounts under a directory. Node has no mount(2)
 * binding: the long-lived helper (mount-helper.ts) does the syscalls, and where it is not
 * installed util-linux `mount`/`umount` run through execFile (no shell). Either way the mount
 * runs with its working directory set where relative lower paths (`l/<link>`) resolve, which is
 * how moby keeps deep chains' options short (its mountFrom re-exec does the same chdir).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { internal } from '@tsdocker/core';
import { MountHelper, MountSyscallError } from './mount-helper.js';

const run = promisify(execFile);

/** One helper per process, found on first use; null: fall back to util-linux. */
let helper: Promise<MountHelper | null> | undefined;
function mountHelper(): Promise<MountHelper | null> {
  helper ??= MountHelper.find();
  return helper;
}

/** Lets the helper exit (the driver's cleanup); the next mount or unmount starts it again. */
export async function closeMountHelper(): Promise<void> {
  (await helper)?.close();
}

/** The mount(2) data must fit in one page, NUL included. */
export const PAGE_SIZE = 4096;

function detail(err: unknown): string {
  return (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
}

/** Mounts an overlay with options `data` on `target`; relative paths in `data` resolve from `cwd`. */
export async function mountOverlay(data: string, target: string, cwd: string): Promise<void> {
  if (data.length > PAGE_SIZE - 1) {
    throw internal(`cannot mount layer, mount options too large (${data.length} bytes)`);
  }
  try {
    const h = await mountHelper();
    // -i: no mount.overlay helper; the kernel gets exactly these options (as from the helper).
    if (h) await h.mount(data, target, cwd);
    else await run('mount', ['-i', '-t', 'overlay', 'overlay', '-o', data, target], { cwd });
  } catch (err) {
    throw internal(`error creating overlay mount to ${target}: ${detail(err)}`, err);
  }
}

/**
 * Unmounts `target`. `lazy` detaches it even while busy (moby's Put uses MNT_DETACH: a container's
 * leftover process must not keep the daemon from releasing a layer). Not being mounted is fine.
 */
export async function unmount(target: string, opts: { lazy?: boolean } = {}): Promise<void> {
  const lazy = opts.lazy === true;
  try {
    const h = await mountHelper();
    if (h) await h.unmount(target, lazy);
    else await run('umount', lazy ? ['-l', target] : [target]);
  } catch (err) {
    // EINVAL: not a mount point; ENOENT: no such path. util-linux says so in words.
    if (err instanceof MountSyscallError && (err.errno === 22 || err.errno === 2)) return;
    const message = detail(err);
    if (/not mounted|no mount point specified|not found/i.test(message)) return;
    throw internal(`error unmounting ${target}: ${message}`, err);
  }
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function decodeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  /** The filesystem's own options (`lowerdir=…,upperdir=…` for an overlay). */
  superOptions: string;
}

/** This process's mounts, from /proc/self/mountinfo. */
export async function listMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields[4] === undefined) continue;
    mounts.push({
      mountPoint: decodeMountPath(fields[4]),
      fsType: fields[separator + 1] ?? '',
      superOptions: fields[separator + 3] ?? '',
    });
  }
  return mounts;
}

/** Mount points at or below `dir` (a canonical path), deepest first. */
export async function mountsUnder(dir: string): Promise<MountEntry[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const found = (await listMounts()).filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(prefix));
  return found.sort((a, b) => b.mountPoint.length - a.mountPoint.length);
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await listMounts()).some((m) => m.mountPoint === path);
}

/** Unmounts everything at or below `dir`, deepest first (detaching busy ones). Returns what it unmounted. */
export async function unmountAllUnder(dir: string): Promise<string[]> {
  const done: string[] = [];
  for (const m of await mountsUnder(dir)) {
    await unmount(m.mountPoint, { lazy: true });
    done.push(m.mountPoint);
  }
  return done;
}
