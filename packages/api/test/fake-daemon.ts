/**
 * An in-memory `DaemonServices` for the API tests. Containers run tiny scripted "programs"
 * instead of processes:
 *
 *   echo ARGS…          prints ARGS to stdout, exits 0
 *   sh -c 'SCRIPT'      `;`-separated `echo …` (`>&2` for stderr) and `exit N`
 *   cat                 copies stdin to stdout until stdin ends, exits 0
 *   sleep …             runs until stopped or killed
 *   anything else       start fails like a missing executable (exec: exits 127)
 *
 * It keeps Docker's semantics the API depends on: attach before start, stdin buffered until the
 * program runs, output ends only after the exit code is recorded, wait conditions, --rm.
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PassThrough, Readable, Writable } from 'node:stream';
import {
  type Attachment,
  type AttachOptions,
  type DaemonServices,
  type ExecStartOptions,
  type Filters,
  type LogsOptions,
  type LogsStream,
  type OutputChunk,
  TsdockerError,
  type WaitCondition,
  type WaitResult,
} from '@tsdocker/core';

const notFound = (message: string) => new TsdockerError('not-found', message);
const conflict = (message: string) => new TsdockerError('conflict', message);
const invalid = (message: string) => new TsdockerError('invalid-argument', message);

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** One running program: writes output, reads stdin, exits once. */
interface ProgramIo {
  write(stream: 'stdout' | 'stderr', text: string): void;
  stdin: Readable;
  exit(code: number): void;
}

type Program = (io: ProgramIo) => { kill(code: number): void };

function parseScript(
  script: string,
): Array<{ op: 'echo'; text: string; stderr: boolean } | { op: 'exit'; code: number }> {
  return script
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const exit = /^exit\s+(\d+)$/.exec(part);
      if (exit) return { op: 'exit' as const, code: Number(exit[1]) };
      const echo = /^echo\s*(.*?)(\s*>&2)?$/.exec(part);
      if (echo)
        return {
          op: 'echo' as const,
          text: (echo[1] ?? '').replace(/^['"]|['"]$/g, ''),
          stderr: Boolean(echo[2]),
        };
      throw new Error(`fake sh cannot run ${part}`);
    });
}

/** Resolves argv to a program, or undefined for an unknown executable. */
function programFor(argv: string[]): Program | undefined {
  const [command, ...args] = argv;
  switch (command) {
    case 'echo':
      return (io) => {
        io.write('stdout', `${args.join(' ')}\n`);
        io.exit(0);
        return { kill() {} };
      };
    case 'sh': {
      if (args[0] !== '-c' || args[1] === undefined) return undefined;
      const steps = parseScript(args[1]);
      return (io) => {
        for (const step of steps) {
          if (step.op === 'exit') {
            io.exit(step.code);
            return { kill() {} };
          }
          io.write(step.stderr ? 'stderr' : 'stdout', `${step.text}\n`);
        }
        io.exit(0);
        return { kill() {} };
      };
    }
    case 'cat':
      return (io) => {
        io.stdin.on('data', (chunk: Buffer) => io.write('stdout', chunk.toString()));
        io.stdin.on('end', () => io.exit(0));
        return { kill: (code) => io.exit(code) };
      };
    case 'sleep':
      return (io) => ({ kill: (code) => io.exit(code) });
    default:
      return undefined;
  }
}

/** Fans one program's output out to attachments and the log. */
class OutputHub {
  readonly log: Array<OutputChunk & { time: Date }> = [];
  private readonly attachments = new Set<HubAttachment>();

  constructor(readonly tty: boolean) {}

  deliver(chunk: OutputChunk): void {
    this.log.push({ ...chunk, time: new Date() });
    for (const attachment of this.attachments) attachment.deliver(chunk);
  }

  add(attachment: HubAttachment): void {
    this.attachments.add(attachment);
  }

  remove(attachment: HubAttachment): void {
    this.attachments.delete(attachment);
  }

  /** The run is over: every attachment's output ends. */
  finish(): void {
    for (const attachment of [...this.attachments]) attachment.finish();
  }
}

class HubAttachment implements Attachment {
  readonly output = new PassThrough({ objectMode: true });
  private done = false;

  constructor(
    private readonly hub: OutputHub,
    readonly stdin: Writable | null,
    private readonly wants: { stdout: boolean; stderr: boolean },
  ) {
    hub.add(this);
  }

  get tty(): boolean {
    return this.hub.tty;
  }

  deliver(chunk: OutputChunk): void {
    if (!this.done && this.wants[chunk.stream]) this.output.write(chunk);
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.hub.remove(this);
    this.output.end();
  }

  detach(): void {
    this.finish();
  }
}

interface Waiter {
  condition: WaitCondition;
  resolve(result: WaitResult): void;
}

interface FakeContainer {
  id: string;
  name: string;
  image: string;
  imageId: string;
  cmd: string[];
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  autoRemove: boolean;
  labels: Record<string, string>;
  created: Date;
  status: 'created' | 'running' | 'paused' | 'exited';
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  hub: OutputHub;
  /** The program's stdin; attachments write here before and after start. */
  stdinPipe: PassThrough;
  kill?: (code: number) => void;
  waiters: Waiter[];
  execIds: string[];
  size?: { rows: number; cols: number };
}

interface FakeExec {
  id: string;
  containerId: string;
  cmd: string[];
  tty: boolean;
  attachStdin: boolean;
  detachKeys: string;
  running: boolean;
  exitCode: number | null;
  size?: { rows: number; cols: number };
}

interface FakeImage {
  id: string;
  repoTags: string[];
  created: Date;
  size: number;
  cmd: string[];
  comment: string;
}

const randomId = () => randomBytes(32).toString('hex');

function withTag(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return ref.includes('@') || last.includes(':') ? ref : `${ref}:latest`;
}

/** Lets an attachment's stdin be written before the program runs, and ended per StdinOnce. */
function attachmentStdin(container: FakeContainer): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      container.stdinPipe.write(chunk);
      callback();
    },
    final(callback) {
      if (container.stdinOnce) container.stdinPipe.end();
      callback();
    },
  });
}

export class FakeDaemon implements DaemonServices {
  readonly containerMap = new Map<string, FakeContainer>();
  readonly execMap = new Map<string, FakeExec>();
  readonly imageMap = new Map<string, FakeImage>();
  /** What the API passed in, for assertions on parsing. */
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  /** Emits `wait-aborted` when a waiter is dropped through its AbortSignal. */
  readonly events = new EventEmitter();
  private nameCounter = 0;

  constructor() {
    this.addImage(['img:latest', 'myrepo/bb:v1'], ['sh']);
  }

  addImage(repoTags: string[], cmd: string[]): FakeImage {
    const image: FakeImage = {
      id: `sha256:${randomId()}`,
      repoTags,
      created: new Date(),
      size: 1234,
      cmd,
      comment: '',
    };
    this.imageMap.set(image.id, image);
    return image;
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  lastCall(method: string): unknown[] | undefined {
    return this.calls.filter((call) => call.method === method).at(-1)?.args;
  }

  // ---- lookups ------------------------------------------------------------------------------

  private findContainer(ref: string): FakeContainer {
    const name = ref.replace(/^\//, '');
    for (const container of this.containerMap.values()) {
      if (container.id === ref || container.name === name) return container;
    }
    const byPrefix = [...this.containerMap.values()].filter((c) => ref.length > 0 && c.id.startsWith(ref));
    if (byPrefix.length === 1 && byPrefix[0]) return byPrefix[0];
    throw notFound(`No such container: ${ref}`);
  }

  private findImage(ref: string): FakeImage {
    const tagged = withTag(ref);
    for (const image of this.imageMap.values()) {
      if (image.id === ref || image.id === `sha256:${ref}` || image.repoTags.includes(tagged)) return image;
    }
    const hex = ref.replace(/^sha256:/, '');
    const byPrefix = [...this.imageMap.values()].filter(
      (i) => hex.length >= 4 && i.id.slice(7).startsWith(hex),
    );
    if (byPrefix.length === 1 && byPrefix[0]) return byPrefix[0];
    throw notFound(`No such image: ${/^[0-9a-f]{12,64}$|^sha256:/.test(ref) ? ref : tagged}`);
  }

  private findExec(id: string): FakeExec {
    const exec = this.execMap.get(id);
    if (!exec) throw notFound(`No such exec instance: ${id}`);
    return exec;
  }

  // ---- running programs -----------------------------------------------------------------------

  private runContainer(container: FakeContainer): void {
    const program = programFor(container.cmd);
    if (!program) throw invalid(`exec: "${container.cmd[0] ?? ''}": executable file not found in $PATH`);
    container.status = 'running';
    container.startedAt = new Date().toISOString();
    container.finishedAt = ZERO_TIME;
    let exited = false;
    const io: ProgramIo = {
      write: (stream, text) =>
        container.hub.deliver({ stream: container.tty ? 'stdout' : stream, data: Buffer.from(text) }),
      stdin: container.stdinPipe,
      exit: (code) => {
        if (exited) return;
        exited = true;
        // Asynchronously, like a real process: `start` answers before the exit is seen.
        setImmediate(() => this.onContainerExit(container, code));
      },
    };
    container.kill = program(io).kill;
  }

  private onContainerExit(container: FakeContainer, code: number): void {
    container.status = 'exited';
    container.exitCode = code;
    container.finishedAt = new Date().toISOString();
    container.kill = undefined;
    // The exit code is recorded first, then attached streams end.
    container.hub.finish();
    const result = { StatusCode: code };
    container.waiters = container.waiters.filter((waiter) => {
      if (waiter.condition === 'removed') return true;
      waiter.resolve(result);
      return false;
    });
    if (container.autoRemove) this.destroy(container);
  }

  private destroy(container: FakeContainer): void {
    this.containerMap.delete(container.id);
    for (const waiter of container.waiters) waiter.resolve({ StatusCode: container.exitCode });
    container.waiters = [];
  }

  // ---- services --------------------------------------------------------------------------------

  readonly containers: DaemonServices['containers'] = {
    create: async ({ name, platform, body }) => {
      this.record('containers.create', { name, platform, body });
      const config = body as Record<string, unknown>;
      if (typeof config.Image !== 'string' || config.Image === '')
        throw invalid('config cannot be empty in order to create a container');
      const image = this.findImage(config.Image);
      const containerName = name ?? `fake_${++this.nameCounter}`;
      for (const existing of this.containerMap.values()) {
        if (existing.name === containerName) {
          throw conflict(
            `Conflict. The container name "/${containerName}" is already in use by container "${existing.id}". You have to remove (or rename) that container to be able to reuse that name.`,
          );
        }
      }
      const hostConfig = (config.HostConfig ?? {}) as Record<string, unknown>;
      const tty = config.Tty === true;
      const container: FakeContainer = {
        id: randomId(),
        name: containerName,
        image: config.Image,
        imageId: image.id,
        cmd: Array.isArray(config.Cmd) && config.Cmd.length > 0 ? (config.Cmd as string[]) : image.cmd,
        tty,
        openStdin: config.OpenStdin === true,
        stdinOnce: config.StdinOnce === true,
        autoRemove: hostConfig.AutoRemove === true,
        labels: (config.Labels as Record<string, string>) ?? {},
        created: new Date(),
        status: 'created',
        exitCode: 0,
        startedAt: ZERO_TIME,
        finishedAt: ZERO_TIME,
        hub: new OutputHub(tty),
        stdinPipe: new PassThrough(),
        waiters: [],
        execIds: [],
      };
      this.containerMap.set(container.id, container);
      return { Id: container.id, Warnings: [] };
    },

    inspect: async (ref, opts) => {
      this.record('containers.inspect', ref, opts);
      const c = this.findContainer(ref);
      return {
        Id: c.id,
        Created: c.created.toISOString(),
        Path: c.cmd[0] ?? '',
        Args: c.cmd.slice(1),
        State: {
          Status: c.status,
          Running: c.status === 'running' || c.status === 'paused',
          Paused: c.status === 'paused',
          Restarting: false,
          OOMKilled: false,
          Dead: false,
          Pid: c.status === 'running' ? 4242 : 0,
          ExitCode: c.exitCode,
          Error: '',
          StartedAt: c.startedAt,
          FinishedAt: c.finishedAt,
        },
        Image: c.imageId,
        Name: `/${c.name}`,
        Config: {
          Image: c.image,
          Cmd: c.cmd,
          Tty: c.tty,
          OpenStdin: c.openStdin,
          StdinOnce: c.stdinOnce,
          Labels: c.labels,
        },
        HostConfig: { AutoRemove: c.autoRemove },
        NetworkSettings: { Ports: {} },
      };
    },

    list: async (opts) => {
      this.record('containers.list', opts);
      const statusFilter = opts.filters.status ?? [];
      let list = [...this.containerMap.values()]
        .filter((c) => opts.all || c.status === 'running' || c.status === 'paused')
        .filter((c) => statusFilter.length === 0 || statusFilter.includes(c.status))
        .sort((a, b) => b.created.getTime() - a.created.getTime());
      if (opts.limit !== undefined) list = list.slice(0, opts.limit);
      return list.map((c) => ({
        Id: c.id,
        Names: [`/${c.name}`],
        Image: c.image,
        ImageID: c.imageId,
        Command: c.cmd.join(' '),
        Created: Math.floor(c.created.getTime() / 1000),
        Ports: [],
        Labels: c.labels,
        State: c.status,
        Status:
          c.status === 'running'
            ? 'Up Less than a second'
            : c.status === 'exited'
              ? `Exited (${c.exitCode}) Less than a second ago`
              : 'Created',
      }));
    },

    start: async (ref) => {
      const c = this.findContainer(ref);
      if (c.status === 'running' || c.status === 'paused')
        throw new TsdockerError('not-modified', 'container already started');
      try {
        this.runContainer(c);
      } catch (err) {
        // --rm containers are removed even when start fails (the CLI waits for it).
        if (c.autoRemove) this.destroy(c);
        throw err;
      }
    },

    stop: async (ref, opts) => {
      this.record('containers.stop', ref, opts);
      const c = this.findContainer(ref);
      if (c.status !== 'running' && c.status !== 'paused')
        throw new TsdockerError('not-modified', 'container already stopped');
      c.kill?.(143);
    },

    kill: async (ref, signal) => {
      this.record('containers.kill', ref, signal);
      const c = this.findContainer(ref);
      if (c.status !== 'running') throw conflict(`container ${c.id} is not running`);
      c.kill?.(137);
    },

    restart: async (ref, opts) => {
      this.record('containers.restart', ref, opts);
      const c = this.findContainer(ref);
      if (c.status === 'running') {
        const exited = new Promise<void>((resolve) =>
          c.waiters.push({ condition: 'next-exit', resolve: () => resolve() }),
        );
        c.kill?.(143);
        await exited;
      }
      this.runContainer(c);
    },

    wait: async (ref, condition, signal) => {
      this.record('containers.wait', ref, condition);
      const c = this.findContainer(ref);
      if (condition === 'not-running' && c.status !== 'running' && c.status !== 'paused') {
        return { result: Promise.resolve({ StatusCode: c.exitCode }) };
      }
      const result = new Promise<WaitResult>((resolve, reject) => {
        const waiter: Waiter = { condition, resolve };
        c.waiters.push(waiter);
        const onAbort = () => {
          c.waiters = c.waiters.filter((w) => w !== waiter);
          reject(new TsdockerError('cancelled', 'wait cancelled'));
          this.events.emit('wait-aborted', c.id);
        };
        if (signal?.aborted) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
      });
      return { result };
    },

    remove: async (ref, opts) => {
      this.record('containers.remove', ref, opts);
      const c = this.findContainer(ref);
      if ((c.status === 'running' || c.status === 'paused') && !opts?.force) {
        throw conflict(
          `cannot remove container "${ref}": container is running: stop the container before removing or force remove`,
        );
      }
      c.kill?.(137);
      c.hub.finish();
      this.destroy(c);
    },

    attach: async (ref, opts: AttachOptions) => {
      this.record('containers.attach', ref, opts);
      const c = this.findContainer(ref);
      const stdin = opts.stdin && c.openStdin ? attachmentStdin(c) : null;
      const attachment = new HubAttachment(c.hub, stdin, { stdout: opts.stdout, stderr: opts.stderr });
      if (opts.logs) for (const chunk of c.hub.log) attachment.deliver(chunk);
      if (!opts.stream || c.status === 'exited') attachment.finish();
      return attachment;
    },

    resize: async (ref, rows, cols) => {
      this.record('containers.resize', ref, rows, cols);
      this.findContainer(ref).size = { rows, cols };
    },

    logs: async (ref, opts: LogsOptions): Promise<LogsStream> => {
      this.record('containers.logs', ref, opts);
      const c = this.findContainer(ref);
      let entries = c.hub.log.filter((chunk) => (chunk.stream === 'stdout' ? opts.stdout : opts.stderr));
      if (opts.tail !== 'all') entries = opts.tail === 0 ? [] : entries.slice(-opts.tail);
      const attachment = new HubAttachment(c.hub, null, { stdout: opts.stdout, stderr: opts.stderr });
      for (const entry of entries) attachment.deliver({ stream: entry.stream, data: entry.data });
      if (!opts.follow || c.status !== 'running') attachment.finish();
      return { tty: c.tty, output: attachment.output, close: () => attachment.detach() };
    },

    rename: async (ref, newName) => {
      const c = this.findContainer(ref);
      if (newName === '') throw invalid('Neither old nor new names may be empty');
      c.name = newName.replace(/^\//, '');
    },

    pause: async (ref) => {
      const c = this.findContainer(ref);
      if (c.status !== 'running') throw conflict(`container ${c.id} is not running`);
      c.status = 'paused';
    },

    unpause: async (ref) => {
      const c = this.findContainer(ref);
      if (c.status !== 'paused') throw conflict(`container ${c.id} is not paused`);
      c.status = 'running';
    },

    top: async (ref, psArgs) => {
      this.record('containers.top', ref, psArgs);
      const c = this.findContainer(ref);
      if (c.status !== 'running') throw conflict(`container ${c.id} is not running`);
      return { Titles: ['PID', 'CMD'], Processes: [['4242', c.cmd.join(' ')]] };
    },
  };

  readonly execs: DaemonServices['execs'] = {
    create: async (containerRef, body) => {
      this.record('execs.create', containerRef, body);
      const c = this.findContainer(containerRef);
      if (c.status !== 'running') throw conflict(`container ${c.id} is not running`);
      const config = body as Record<string, unknown>;
      const exec: FakeExec = {
        id: randomId(),
        containerId: c.id,
        cmd: config.Cmd as string[],
        tty: config.Tty === true,
        attachStdin: config.AttachStdin === true,
        detachKeys: typeof config.DetachKeys === 'string' ? config.DetachKeys : '',
        running: false,
        exitCode: null,
      };
      this.execMap.set(exec.id, exec);
      c.execIds.push(exec.id);
      return { Id: exec.id };
    },

    start: async (execId, opts: ExecStartOptions) => {
      this.record('execs.start', execId, opts);
      const exec = this.findExec(execId);
      if (exec.running || exec.exitCode !== null) throw conflict(`exec ${execId} has already been started`);
      const hub = new OutputHub(exec.tty);
      const stdinPipe = new PassThrough();
      const stdin = exec.attachStdin
        ? new Writable({
            write(chunk: Buffer, _e, cb) {
              stdinPipe.write(chunk);
              cb();
            },
            final(cb) {
              stdinPipe.end();
              cb();
            },
          })
        : null;
      const attachment = opts.detach ? null : new HubAttachment(hub, stdin, { stdout: true, stderr: true });
      exec.running = true;
      const finish = (code: number) =>
        setImmediate(() => {
          // Recorded before the output ends, so inspect right after the stream sees it.
          exec.running = false;
          exec.exitCode = code;
          hub.finish();
        });
      const program = programFor(exec.cmd);
      if (!program) {
        hub.deliver({
          stream: 'stdout',
          data: Buffer.from(
            `OCI runtime exec failed: exec: "${exec.cmd[0]}": executable file not found in $PATH\r\n`,
          ),
        });
        finish(127);
        return attachment;
      }
      let exited = false;
      program({
        write: (stream, text) =>
          hub.deliver({ stream: exec.tty ? 'stdout' : stream, data: Buffer.from(text) }),
        stdin: stdinPipe,
        exit: (code) => {
          if (exited) return;
          exited = true;
          finish(code);
        },
      });
      return attachment;
    },

    inspect: async (execId) => {
      const exec = this.findExec(execId);
      return {
        ID: exec.id,
        Running: exec.running,
        ExitCode: exec.exitCode,
        ProcessConfig: {
          tty: exec.tty,
          entrypoint: exec.cmd[0] ?? '',
          arguments: exec.cmd.slice(1),
          privileged: false,
        },
        OpenStdin: exec.attachStdin,
        OpenStderr: true,
        OpenStdout: true,
        CanRemove: false,
        ContainerID: exec.containerId,
        DetachKeys: exec.detachKeys,
        Pid: exec.running ? 4343 : 0,
      };
    },

    resize: async (execId, rows, cols) => {
      this.record('execs.resize', execId, rows, cols);
      this.findExec(execId).size = { rows, cols };
    },
  };

  readonly images: DaemonServices['images'] = {
    import: async (params) => {
      this.record('images.import', { ...params, source: undefined });
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of params.source) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      if (size === 0) throw invalid('the archive is empty');
      const id = `sha256:${hash.digest('hex')}`;
      // Like core's import: the service itself reports the final status line.
      params.progress?.({ status: id });
      const repoTags: string[] = [];
      if (params.repo) repoTags.push(params.tag ? `${params.repo}:${params.tag}` : withTag(params.repo));
      this.imageMap.set(id, {
        id,
        repoTags,
        created: new Date(),
        size,
        cmd: [],
        comment: params.message ?? '',
      });
      return { id };
    },

    list: async (opts) => {
      this.record('images.list', opts);
      return [...this.imageMap.values()].map((image) => ({
        Id: image.id,
        ParentId: '',
        RepoTags: image.repoTags,
        RepoDigests: [],
        Created: Math.floor(image.created.getTime() / 1000),
        Size: image.size,
        SharedSize: -1,
        Labels: {},
        Containers: -1,
      }));
    },

    inspect: async (ref) => {
      this.record('images.inspect', ref);
      const image = this.findImage(ref);
      return {
        Id: image.id,
        RepoTags: image.repoTags,
        RepoDigests: [],
        Created: image.created.toISOString(),
        Size: image.size,
        Os: 'linux',
        Architecture: 'amd64',
        Config: { Cmd: image.cmd },
        Comment: image.comment,
      };
    },

    history: async (ref) => {
      const image = this.findImage(ref);
      return [
        {
          Id: image.id,
          Created: Math.floor(image.created.getTime() / 1000),
          CreatedBy: '',
          Tags: image.repoTags,
          Size: image.size,
          Comment: image.comment,
        },
      ];
    },

    tag: async (ref, repo, tag) => {
      this.record('images.tag', ref, repo, tag);
      const image = this.findImage(ref);
      const familiar = repo.replace(/^docker\.io\/(library\/)?/, '');
      image.repoTags.push(`${familiar}:${tag ?? 'latest'}`);
    },

    remove: async (ref, opts) => {
      this.record('images.remove', ref, opts);
      const image = this.findImage(ref);
      const tagged = withTag(ref);
      if (image.repoTags.includes(tagged) && image.repoTags.length > 1) {
        image.repoTags = image.repoTags.filter((t) => t !== tagged);
        return [{ Untagged: tagged }];
      }
      this.imageMap.delete(image.id);
      return [...image.repoTags.map((t) => ({ Untagged: t })), { Deleted: image.id }];
    },

    load: async (params) => {
      this.record('images.load', { quiet: params.quiet, platform: params.platform });
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of params.source) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      if (size === 0) throw invalid('invalid archive: it is empty');
      if (!params.quiet)
        params.progress?.({
          status: 'Loading layer',
          progressDetail: { current: size, total: size },
          id: 'fake',
        });
      params.progress?.({ stream: `Loaded image ID: sha256:${hash.digest('hex')}\n` });
    },

    save: async (params) => {
      this.record('images.save', params);
      for (const name of params.names) this.findImage(name);
      return Readable.from([Buffer.from(`fake archive of ${params.names.join(',')}`)]);
    },
  };

  readonly system: DaemonServices['system'] = {
    version: async () => ({
      Platform: { Name: 'tsdocker (fake)' },
      Components: [
        {
          Name: 'Engine',
          Version: '0.0.0-fake',
          Details: {
            ApiVersion: '1.50',
            MinAPIVersion: '1.24',
            GitCommit: 'fake',
            GoVersion: 'node',
            Os: 'linux',
            Arch: 'amd64',
            BuildTime: '2025-01-01T00:00:00.000000000+00:00',
            Experimental: 'false',
          },
        },
      ],
      Version: '0.0.0-fake',
      ApiVersion: '1.50',
      MinAPIVersion: '1.24',
      GitCommit: 'fake',
      GoVersion: 'node',
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: '6.0.0',
      BuildTime: '2025-01-01T00:00:00.000000000+00:00',
    }),
    info: async () => {
      const all = [...this.containerMap.values()];
      return {
        ID: 'FAKE:DAEMON',
        Containers: all.length,
        ContainersRunning: all.filter((c) => c.status === 'running').length,
        ContainersPaused: all.filter((c) => c.status === 'paused').length,
        ContainersStopped: all.filter((c) => c.status === 'exited' || c.status === 'created').length,
        Images: this.imageMap.size,
        Driver: 'fake',
        ServerVersion: '0.0.0-fake',
        OSType: 'linux',
        Architecture: 'x86_64',
        OperatingSystem: 'Fake OS',
        NCPU: 2,
        MemTotal: 2147483648,
        Name: 'fakehost',
        Swarm: { LocalNodeState: 'inactive' },
        SecurityOptions: ['name=seccomp,profile=builtin'],
      };
    },
  };

  /** Convenience for tests: a running container whose program waits to be killed. */
  async runSleeper(name: string, tty = false): Promise<string> {
    const { Id } = await this.containers.create({
      name,
      body: { Image: 'img', Cmd: ['sleep', 'infinity'], Tty: tty, OpenStdin: true },
    });
    await this.containers.start(Id);
    return Id;
  }

  /** Resolves with the exit code once the container's program has exited (not through the API). */
  whenExited(ref: string): Promise<number> {
    const c = this.findContainer(ref);
    if (c.status === 'exited') return Promise.resolve(c.exitCode);
    return new Promise((resolve) =>
      c.waiters.push({ condition: 'next-exit', resolve: (r) => resolve(r.StatusCode) }),
    );
  }

  /** Convenience for tests: filters the API passed to the last list call. */
  lastListFilters(): Filters | undefined {
    const args = this.lastCall('containers.list');
    return (args?.[0] as { filters: Filters } | undefined)?.filters;
  }
}
