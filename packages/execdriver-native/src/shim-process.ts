/**
 * One running shim, seen from the daemon: spawns `tsd-shim run|exec`, follows its control
 * events, and presents the supervised process as a ProcessHandle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type ExitStatus, internal, type Logger, type ProcessHandle, parseSignal } from '@tsdocker/core';
import {
  formatResize,
  formatSignal,
  LineSplitter,
  parseExitLine,
  parseShimEvent,
  type ShimEvent,
} from './shim-protocol.js';
import { checkWinsize } from './shim-spec.js';
import { startError } from './start-errors.js';

export interface ShimLaunchOptions {
  shimPath: string;
  mode: 'run' | 'exec';
  specFile: string;
  terminal: boolean;
  openStdin: boolean;
  /** The exit file the shim writes (run mode); read if the control channel broke before `exit`. */
  exitFile?: string;
  logger: Logger;
}

interface PendingCommand {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Hands out our own stream, piped from the child's at spawn time: Node discards the output of a
 * child stdio stream nobody listens to by the time the child exits, and a short-lived process
 * can exit before the caller gets the handle. The pipe keeps backpressure all the way to the shim.
 */
export function relay(source: Readable | null): Readable {
  const out = new PassThrough();
  if (source) {
    source.pipe(out);
    source.on('error', () => out.end());
    // A child's pipe can close without ever emitting 'end' (seen once in a stress run: the shim
    // gone, its stdout socket closed, its end listeners still waiting). The exit is reported only
    // once this relay has ended, so such a container stayed "running" forever. Closed is closed:
    // nothing more can come from the source.
    source.on('close', () => {
      if (!out.writableEnded) out.end();
    });
  } else {
    out.end();
  }
  return out;
}

/** Status reported when the shim died without telling us (moby uses 255 for "unknown"). */
const UNKNOWN_EXIT_CODE = 255;

export class ShimProcess implements ProcessHandle {
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable | null;
  readonly exited: Promise<ExitStatus>;

  private pidValue = 0;
  private exitStatus: ExitStatus | undefined;
  private done = false;
  private readonly pending: PendingCommand[] = [];
  private resolveExited!: (status: ExitStatus) => void;

  private constructor(
    private readonly child: ChildProcess,
    private readonly control: Socket,
    private readonly options: ShimLaunchOptions,
  ) {
    this.stdin = options.openStdin ? child.stdin : null;
    this.stdout = relay(child.stdout);
    this.stderr = options.terminal ? null : relay(child.stderr);
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
  }

  /** Host pid of the supervised process (not of the shim). */
  get pid(): number {
    return this.pidValue;
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.pidValue > 0 && this.exitStatus === undefined && !this.done;
  }

  /** Spawns the shim; resolves once the process is exec'd, rejects (with nothing left running) otherwise. */
  static launch(options: ShimLaunchOptions): Promise<ShimProcess> {
    const child = spawn(options.shimPath, [options.mode, options.specFile], {
      stdio: [options.openStdin ? 'pipe' : 'ignore', 'pipe', options.terminal ? 'ignore' : 'pipe', 'pipe'],
      // Its own session: a signal aimed at the daemon's process group must not reach containers.
      detached: true,
    });
    const control = child.stdio[3] as Socket;
    const shim = new ShimProcess(child, control, options);
    return shim.start();
  }

  private start(): Promise<ShimProcess> {
    const { child, control, options } = this;
    const log = options.logger;
    for (const [name, stream] of [
      ['stdin', child.stdin],
      ['stdout', child.stdout],
      ['stderr', child.stderr],
      ['control', control],
    ] as const) {
      // A reader or writer that went away is normal at the end of a container's life.
      stream?.on('error', (err) => log.debug(`shim ${name} stream error`, { error: err.message }));
    }

    return new Promise<ShimProcess>((resolve, reject) => {
      let startFailure: Error | undefined;
      let started = false;
      const splitter = new LineSplitter();

      control.on('data', (chunk: Buffer) => {
        for (const line of splitter.push(chunk)) {
          const event = parseShimEvent(line);
          if (!event) {
            log.warn('unexpected line from the shim', { line });
            continue;
          }
          if (!started) {
            if (event.type === 'started') {
              started = true;
              this.pidValue = event.pid;
              resolve(this);
            } else if (event.type === 'error') {
              startFailure = startError(event.message);
            }
            continue;
          }
          this.onEvent(event);
        }
      });

      child.on('error', (err) => {
        if (!started) reject(internal(`cannot run the shim ${options.shimPath}: ${err.message}`, err));
        else log.error('shim process error', { error: err.message });
      });

      child.on('exit', (code, signal) => {
        if (started) return;
        // The shim reports a failure and exits by itself: nothing of the process is left. Its
        // last control lines may still be in flight when 'exit' fires, so wait for the end.
        let failed = false;
        const fail = () => {
          if (failed) return;
          failed = true;
          for (const s of [child.stdin, child.stdout, child.stderr, control]) s?.destroy();
          reject(
            startFailure ??
              internal(`the shim exited (${signal ?? `code ${code}`}) before the process started`),
          );
        };
        if (control.readableEnded || control.destroyed) fail();
        else {
          control.once('end', fail);
          control.once('close', fail);
        }
      });

      // 'close' comes after the shim exited and every stdio stream (all output) ended.
      child.on('close', () => {
        if (started) void this.finish();
      });
    });
  }

  private onEvent(event: ShimEvent): void {
    switch (event.type) {
      case 'exit':
        this.exitStatus = event.status;
        break;
      case 'ok':
        this.pending.shift()?.resolve();
        break;
      case 'fail':
        this.pending.shift()?.reject(internal(`shim ${event.command}: ${event.message}`));
        break;
      default:
        this.options.logger.warn('unexpected shim event', { event: event.type });
    }
  }

  private async finish(): Promise<void> {
    this.done = true;
    for (const p of this.pending.splice(0)) p.resolve(); // the process is gone: nothing to do
    let status = this.exitStatus;
    if (!status && this.options.exitFile) {
      const text = await readFile(this.options.exitFile, 'utf8').catch(() => undefined);
      status = text ? parseExitLine(text)?.status : undefined;
    }
    if (!status) {
      this.options.logger.error('the shim ended without reporting an exit status', { pid: this.pidValue });
      status = { exitCode: UNKNOWN_EXIT_CODE, oomKilled: false, finishedAt: new Date() };
    }
    // "Delivered" means read by the consumer: our relays only end once drained.
    await Promise.all([this.stdout, this.stderr].map((s) => (s ? finished(s).catch(() => {}) : undefined)));
    this.resolveExited(status);
  }

  /** Sends a command; resolves on the shim's `ok` (replies come in order). */
  private command(line: string): Promise<void> {
    if (!this.running || !this.control.writable) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.control.write(line);
    });
  }

  async resize(rows: number, cols: number): Promise<void> {
    checkWinsize(rows);
    checkWinsize(cols);
    if (!this.options.terminal) return;
    await this.command(formatResize(rows, cols));
  }

  async signal(signal: number | string): Promise<void> {
    const n = parseSignal(signal);
    await this.command(formatSignal(n));
  }

  /** Lets the daemon exit without waiting for this shim; the container keeps running. */
  detach(): void {
    this.child.unref();
    for (const s of [
      this.control,
      this.child.stdout,
      this.child.stderr,
      this.child.stdin,
    ] as Array<Socket | null>)
      s?.unref?.();
  }
}
