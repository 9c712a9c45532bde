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

type HelperChild = ChildProcessByStdio<Writable, Readable, null>;

export class MountHelper {
  private child: HelperChild | null = null;
  private readonly pending: Pending[] = [];
  private buffered = '';

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

  /** Ends the helper (it exits on EOF). Requests after this start a new one. */
  close(): void {
    this.child?.stdin.end();
    this.child = null;
  }

  private request(fields: string[]): Promise<void> {
    if (fields.some((f) => f.includes('\0')))
      return Promise.reject(new Error('a mount argument contains a NUL byte'));
    const child = this.child ?? this.start();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      if (this.pending.length === 1) this.ref(child, true);
      child.stdin.write(fields.map((f) => `${f}\0`).join(''));
    });
  }

  private start(): HelperChild {
    const child = spawn(this.path, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child = child;
    this.buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onData(chunk));
    const gone = (err: Error) => {
      if (this.child === child) this.child = null;
      this.failAll(err);
    };
    child.on('error', gone);
    child.on('exit', (code, signal) => gone(new Error(`the mount helper exited (${signal ?? code})`)));
    // A write to a helper that just died fails here; the exit handler reports it.
    child.stdin.on('error', () => {});
    this.ref(child, false);
    return child;
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const next = this.pending.shift();
      if (this.pending.length === 0 && this.child) this.ref(this.child, false);
      if (!next) continue;
      const failed = /^err (\d+) (.*)$/.exec(line);
      if (failed) next.reject(new MountSyscallError(Number(failed[1]), failed[2] ?? ''));
      else if (line === 'ok') next.resolve();
      else next.reject(new Error(`unexpected answer from the mount helper: ${line}`));
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  /** Keeps the event loop alive only while an answer is awaited. */
  private ref(child: HelperChild, on: boolean): void {
    for (const handle of [child, child.stdout, child.stdin] as Array<{ ref(): void; unref(): void }>) {
      if (on) handle.ref();
      else handle.unref();
    }
  }
}
