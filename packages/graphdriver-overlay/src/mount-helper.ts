/**
 * The long-lived mount helper (`build/tsd-mount`, compiled from native/tsd-mount.c at install):
 * one process per daemon that performs mount(2) and umount2(2) on request. Spawning util-linux
 * mount for every operation costs a fork and an exec each (tens of milliseconds on a busy host,
 * several per container run); a request on a pipe costs microseconds.
 *
 * Requests are answered in order, so pending ones wait in a FIFO. The child is unref'd while idle
 * (an idle helper never keeps a process alive) and ends when its stdin closes, so a daemon that
 * dies takes it along. A helper that dies is started again on the next request.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** `src/*.ts` (tests) and the bundled `dist/index.js` both sit one level below the package root. */
export const DEFAULT_MOUNT_HELPER_PATH = fileURLToPath(new URL('../build/tsd-mount', import.meta.url));

/** A failed mount(2)/umount2(2), with the kernel's errno. */
export class MountSyscallError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'MountSyscallError';
  }
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** One helper process and the requests it still owes an answer, oldest first. */
interface Helper {
  child: ChildProcessByStdio<Writable, Readable, null>;
  pending: Pending[];
}

export class MountHelper {
  private current: Helper | null = null;

  constructor(readonly path: string) {}

  /** The helper at `path`, or null when it is not installed (the caller falls back to util-linux). */
  static async find(path = DEFAULT_MOUNT_HELPER_PATH): Promise<MountHelper | null> {
    return access(path, constants.X_OK).then(
      () => new MountHelper(path),
      () => null,
    );
  }

  /** Mounts an overlay with options `data` on `target`; relative paths in `data` resolve from `cwd`. */
  mount(data: string, target: string, cwd: string): Promise<void> {
    return this.request(['M', cwd, target, data]);
  }

  /** umount2(target), with MNT_DETACH when `lazy`. */
  unmount(target: string, lazy: boolean): Promise<void> {
    return this.request([lazy ? 'L' : 'U', target]);
  }

  /** Lets the helper end (on EOF, after answering what it was sent). Later requests start another. */
  close(): void {
    this.current?.child.stdin.end();
    this.current = null;
  }

  private request(fields: string[]): Promise<void> {
    if (fields.some((f) => f.includes('\0')))
      return Promise.reject(new Error('a mount argument contains a NUL byte'));
    const helper = this.current ?? this.start();
    return new Promise<void>((resolve, reject) => {
      helper.pending.push({ resolve, reject });
      if (helper.pending.length === 1) setRef(helper, true);
      helper.child.stdin.write(fields.map((f) => `${f}\0`).join(''));
    });
  }

  private start(): Helper {
    const child = spawn(this.path, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    const helper: Helper = { child, pending: [] };
    this.current = helper;
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        answer(helper, buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    const gone = (err: Error) => {
      if (this.current === helper) this.current = null;
      for (const p of helper.pending.splice(0)) p.reject(err);
    };
    child.on('error', gone);
    child.on('exit', (code, signal) => gone(new Error(`the mount helper exited (${signal ?? code})`)));
    // A write to a helper that just died fails here; the exit handler reports it.
    child.stdin.on('error', () => {});
    setRef(helper, false);
    return helper;
  }
}

function answer(helper: Helper, line: string): void {
  const next = helper.pending.shift();
  if (helper.pending.length === 0) setRef(helper, false);
  if (!next) return;
  const failed = /^err (\d+) (.*)$/.exec(line);
  if (failed) next.reject(new MountSyscallError(Number(failed[1]), failed[2] ?? ''));
  else if (line === 'ok') next.resolve();
  else next.reject(new Error(`unexpected answer from the mount helper: ${line}`));
}

/** Keeps the event loop alive only while an answer is awaited: an idle helper holds no process up. */
function setRef(helper: Helper, on: boolean): void {
  const { child } = helper;
  for (const handle of [child, child.stdout, child.stdin] as unknown as Array<{
    ref(): void;
    unref(): void;
  }>) {
    if (on) handle.ref();
    else handle.unref();
  }
}
