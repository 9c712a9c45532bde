/**
 * Execs (the seed's `ContainerExecCreate`/`ContainerExecStart`): create registers an exec config
 * in the daemon-wide exec store and in its container; start attaches stdio and hands the process
 * to the exec driver, which reports the exit code back into the config.
 */
import { Readable } from 'node:stream';
import { processEnv } from '../container/container-spec.js';
import type { ContainerStore } from '../container/container-store.js';
import { StdioHub } from '../container/stdio-hub.js';
import { resolveUser } from '../container/user.js';
import type { ExecDriver } from '../drivers/exec-driver.js';
import { conflict, notFound, TsdockerError } from '../errors.js';
import { capabilitiesFor } from '../security/container-security.js';
import type { Attachment, ExecService, ExecStartOptions } from '../services.js';
import { generateId } from '../store/index.js';
import { type ExecCreateBody, parseExecCreate } from './exec-config.js';

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecCreateBody & { Cmd: string[] };
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  /** A resize that arrived before the process ran (the CLI sends one right after the hijack). */
  pendingSize: { rows: number; cols: number } | null;
  resize: ((rows: number, cols: number) => Promise<void>) | null;
}

/** moby writes start failures into the stream and maps them to these exit codes. */
function failureExitCode(message: string): number {
  return message.includes('executable file not found') || message.includes('no such file or directory')
    ? 127
    : 126;
}

export class Execs implements ExecService {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(
    private readonly containers: ContainerStore,
    private readonly driver: ExecDriver,
  ) {}

  private get(id: string): ExecRecord {
    const exec = this.execs.get(id);
    if (!exec) throw notFound(`No such exec instance: ${id}`);
    return exec;
  }

  async create(containerRef: string, body: unknown): Promise<{ Id: string }> {
    const container = this.containers.get(containerRef);
    const config = parseExecCreate(body);
    if (!container.record.State.Running) throw conflict(`container ${container.id} is not running`);
    if (container.record.State.Paused)
      throw conflict(`container ${container.id} is paused, unpause the container before exec`);
    const id = generateId();
    this.execs.set(id, {
      id,
      containerId: container.id,
      config,
      running: false,
      started: false,
      exitCode: null,
      pid: 0,
      pendingSize: null,
      resize: null,
    });
    container.execIds.add(id);
    return { Id: id };
  }

  async start(execId: string, opts: ExecStartOptions): Promise<Attachment | null> {
    const exec = this.get(execId);
    if (exec.running) throw conflict(`Error: Exec command ${exec.id} is already running`);
    if (exec.started) throw conflict(`Error: Exec command ${exec.id} has already run`);
    const container = this.containers.get(exec.containerId);
    if (!container.record.State.Running || !container.rootfs)
      throw conflict(`container ${container.id} is not running`);
    exec.started = true;

    const c = exec.config;
    const tty = opts.tty ?? c.Tty === true;
    const size = opts.consoleSize ?? c.ConsoleSize;
    const hub = new StdioHub(tty, true);
    const attachment = opts.detach
      ? null
      : hub.attach({
          stdin: c.AttachStdin === true,
          stdout: c.AttachStdout !== false,
          stderr: c.AttachStderr !== false,
        });
    try {
      const user = await resolveUser(
        container.rootfs,
        c.User || container.record.Config.User || '',
        container.hostConfig.GroupAdd ?? [],
      );
      const hostname = container.record.Config.Hostname ?? '';
      const consoleSize =
        exec.pendingSize ?? (size?.[0] && size[1] ? { rows: size[0], cols: size[1] } : undefined);
      const handle = await this.driver.exec(container.id, {
        args: c.Cmd,
        env: processEnv(container.record, hostname, tty, user, c.Env ?? []),
        cwd: c.WorkingDir || container.record.Config.WorkingDir || '/',
        user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
        terminal: tty,
        openStdin: c.AttachStdin === true && !opts.detach,
        ...(consoleSize ? { consoleSize } : {}),
        // moby's exec --privileged: every capability (that the daemon holds); seccomp stays.
        ...(c.Privileged === true ? { capabilities: capabilitiesFor({ Privileged: true }) } : {}),
      });
      exec.running = true;
      exec.pid = handle.pid;
      exec.resize = (rows, cols) => handle.resize(rows, cols);
      hub.beginRun(handle);
      handle.exited.then(
        (status) => this.finish(exec, hub, status.exitCode),
        () => this.finish(exec, hub, 126),
      );
      return attachment;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      exec.exitCode = TsdockerError.is(err, 'not-found') ? 127 : failureExitCode(message);
      if (!attachment) throw err;
      // As moby does: the error text goes to the caller's stream and the exit code says why.
      attachment.detach();
      return {
        tty,
        stdin: null,
        output: Readable.from([{ stream: 'stdout', data: Buffer.from(`${message}\r\n`) }], {
          objectMode: true,
        }),
        detach() {},
      };
    }
  }

  /** Records the exit code before the stream ends: `docker exec` inspects right after EOF. */
  private finish(exec: ExecRecord, hub: StdioHub, exitCode: number): void {
    exec.exitCode = exitCode;
    exec.running = false;
    exec.resize = null;
    hub.endRun();
  }

  async inspect(execId: string): Promise<Record<string, unknown>> {
    const exec = this.get(execId);
    const c = exec.config;
    return {
      ID: exec.id,
      Running: exec.running,
      ExitCode: exec.exitCode,
      ProcessConfig: {
        tty: c.Tty === true,
        entrypoint: c.Cmd[0],
        arguments: c.Cmd.slice(1),
        privileged: c.Privileged === true,
        user: c.User ?? '',
      },
      OpenStdin: c.AttachStdin === true,
      OpenStderr: c.AttachStderr !== false,
      OpenStdout: c.AttachStdout !== false,
      CanRemove: false,
      ContainerID: exec.containerId,
      DetachKeys: c.DetachKeys ?? '',
      Pid: exec.pid,
    };
  }

  async resize(execId: string, rows: number, cols: number): Promise<void> {
    const exec = this.get(execId);
    if (exec.resize) await exec.resize(rows, cols);
    else if (!exec.started) exec.pendingSize = { rows, cols };
  }

  /** Drops every exec of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, exec] of this.execs) if (exec.containerId === containerId) this.execs.delete(id);
  }
}
