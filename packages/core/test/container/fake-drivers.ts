/** In-memory stand-ins for the exec driver and the image side, for lifecycle tests without root. */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ImageAccess } from '../../src/container/container-service.js';
import { parseSignal } from '../../src/container/signals.js';
import type {
  ContainerSpec,
  ExecDriver,
  ExitStatus,
  ProcessHandle,
  ProcessSpec,
} from '../../src/drivers/exec-driver.js';
import { invalidArgument } from '../../src/errors.js';

/** Scripted processes: `echo …`, `exit N`, `sleep` (until signalled), `cat` (stdin → stdout). */
function fakeProcess(proc: ProcessSpec): ProcessHandle {
  const stdout = new PassThrough();
  const stderr = proc.terminal ? null : new PassThrough();
  const stdin = proc.openStdin ? new PassThrough() : null;
  let finish!: (s: ExitStatus) => void;
  const exited = new Promise<ExitStatus>((r) => {
    finish = r;
  });
  let done = false;
  const end = (code: number) => {
    if (done) return;
    done = true;
    stdout.end();
    stderr?.end();
    // As the contract says: exited only once the consumer has read every byte of both streams.
    void Promise.all([finished(stdout), stderr ? finished(stderr) : undefined]).then(() =>
      finish({ exitCode: code, oomKilled: false, finishedAt: new Date() }),
    );
  };
  const [cmd, ...args] = proc.args;
  setImmediate(() => {
    if (cmd === 'echo') {
      stdout.write(`${args.join(' ')}\n`);
      stderr?.write('to-stderr\n');
      end(0);
    } else if (cmd === 'exit') end(Number(args[0]));
    else if (cmd === 'cat') {
      stdin?.on('data', (d) => stdout.write(d));
      stdin?.on('end', () => end(0));
    }
  });
  return {
    pid: 4242,
    stdin,
    stdout,
    stderr,
    async resize() {},
    async signal(s) {
      const n = parseSignal(s);
      if (n === 9 || n === 15) end(128 + n);
    },
    exited,
  };
}

export class FakeExecDriver implements ExecDriver {
  readonly name = 'fake';
  started: ContainerSpec[] = [];
  async start(spec: ContainerSpec): Promise<ProcessHandle> {
    if (spec.process.args[0] === 'nosuch')
      throw invalidArgument('exec: "nosuch": executable file not found in $PATH');
    this.started.push(spec);
    return fakeProcess(spec.process);
  }
  async exec(_id: string, proc: ProcessSpec): Promise<ProcessHandle> {
    return fakeProcess(proc);
  }
  async processes(): Promise<number[]> {
    return [4242];
  }
  async cleanup(): Promise<void> {}
  async close(): Promise<void> {}
}

export class FakeImages implements ImageAccess {
  constructor(private readonly root: string) {}
  async resolveImage(ref: string) {
    if (ref !== 'busybox') throw Object.assign(new Error(`No such image: ${ref}:latest`), {});
    return { id: `sha256:${'ab'.repeat(32)}`, config: { config: { Cmd: ['echo', 'default'] } } };
  }
  async createRWLayer(id: string, _imageId: string, init: (root: string) => Promise<void>) {
    await mkdir(join(this.root, id), { recursive: true });
    await init(join(this.root, id));
  }
  async mountRWLayer(id: string) {
    return join(this.root, id);
  }
  async unmountRWLayer() {}
  async removeRWLayer(id: string) {
    await rm(join(this.root, id), { recursive: true, force: true });
  }
}
