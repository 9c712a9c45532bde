/**
 * The native exec driver: each container's init and each exec'd process runs under its own
 * tsd-shim; the driver writes the shim's spec, prepares the container's cgroups, and keeps
 * per-container runtime state in `<runtimeDir>/<id>/` (spec file, exit file).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ContainerSpec,
  type ContainerStats,
  conflict,
  type DriverContext,
  type ExecDriver,
  invalidArgument,
  notFound,
  type ProcessHandle,
  type ProcessSpec,
  unavailable,
} from '@tsdocker/core';
import { capabilityNumbers } from './capabilities.js';
import type { CgroupManager, CgroupVersion } from './cgroups/cgroup-manager.js';
import { detectCgroupVersion, openCgroupManager } from './cgroups/detect.js';
import type { NativeExecDriverOptions } from './options.js';
import { compileSeccompCached } from './seccomp/compile-seccomp.js';
import { ShimProcess } from './shim-process.js';
import { encodeExecSpec, encodeRunSpec, type ShimSupervision } from './shim-spec.js';

/** Ids name directories and cgroups: no separators, no dot-dot. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A shim whose process was just killed may still be writing its exit file into the directory:
 * retry (rm does, on ENOTEMPTY) until it is gone; a late write then fails harmlessly. */
function removeStateDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 10 });
}

/** How a container's processes are confined; `docker exec` processes inherit it (as runc's do). */
type Confinement = Pick<
  ShimSupervision,
  'capabilities' | 'noNewPrivileges' | 'seccompFile' | 'seccompFlags' | 'rlimits'
>;

interface ContainerEntry {
  /** Undefined while the container is starting. */
  init?: ShimProcess;
  confinement?: Confinement;
}

export class NativeExecDriver implements ExecDriver {
  readonly name = 'native';
  private readonly containers = new Map<string, ContainerEntry>();
  private readonly execs = new Set<ShimProcess>();
  private closed = false;

  private constructor(
    private readonly ctx: DriverContext,
    private readonly options: NativeExecDriverOptions,
    private readonly cgroupVersion: CgroupVersion,
  ) {}

  static async create(ctx: DriverContext, options: NativeExecDriverOptions): Promise<NativeExecDriver> {
    const version = await detectCgroupVersion(options.cgroupRoot);
    await mkdir(ctx.runtimeDir, { recursive: true, mode: 0o700 });
    ctx.logger.debug('native exec driver ready', { cgroupVersion: version, shim: options.shimPath });
    return new NativeExecDriver(ctx, options, version);
  }

  private assertOpen(): void {
    if (this.closed) throw unavailable('the native exec driver is closed');
  }

  private containerDir(id: string): string {
    if (!CONTAINER_ID.test(id)) throw invalidArgument(`Invalid container id: ${JSON.stringify(id)}`);
    return join(this.ctx.runtimeDir, id);
  }

  private cgroup(id: string): Promise<CgroupManager> {
    return openCgroupManager(this.cgroupVersion, {
      root: this.options.cgroupRoot,
      path: `${this.options.cgroupParent}/${id}`,
    });
  }

  /** The container's confinement: capabilities, no_new_privs, rlimits, and its seccomp filter
   * compiled to BPF in the container's state dir (execs reuse the file). */
  private async confinement(spec: ContainerSpec, cgroup: CgroupManager, dir: string): Promise<Confinement> {
    const p = spec.process;
    const out: Confinement = {
      capabilities: capabilityNumbers(p.capabilities, cgroup.enforcesDeviceAllowlist),
      noNewPrivileges: p.noNewPrivileges === true,
      rlimits: p.rlimits ?? [],
    };
    if (spec.seccomp) {
      const { program, flags } = compileSeccompCached(spec.seccomp);
      out.seccompFile = join(dir, 'seccomp.bpf');
      out.seccompFlags = flags;
      await writeFile(out.seccompFile, program, { mode: 0o600 });
    }
    return out;
  }

  async start(spec: ContainerSpec): Promise<ProcessHandle> {
    this.assertOpen();
    const dir = this.containerDir(spec.id);
    const existing = this.containers.get(spec.id);
    // Starting, or running: an init whose exit was reported may still be delivering output.
    if (existing && (!existing.init || existing.init.running))
      throw conflict(`Container ${spec.id} is already running`);
    this.containers.set(spec.id, {});

    let cgroup: CgroupManager | undefined;
    try {
      await removeStateDir(dir); // a previous run's exit file must not be read as ours
      await mkdir(dir, { recursive: true, mode: 0o700 });
      cgroup = await this.cgroup(spec.id);
      await cgroup.create(spec.resources, spec.devices);
      const exitFile = join(dir, 'exit');
      const specFile = join(dir, 'config.spec');
      const cg = cgroup;
      const mounts = spec.mounts.flatMap((m) =>
        m.type === 'cgroup' ? cg.mountsFor(m.destination, m.options) : [m],
      );
      const confinement = await this.confinement(spec, cgroup, dir);
      const encoded = encodeRunSpec(
        { ...spec, mounts },
        {
          cgroupJoin: cgroup.joinFiles(),
          oomEvents: cgroup.oomEventsFile(),
          exitFile,
          ...confinement,
        },
      );
      await writeFile(specFile, encoded, { mode: 0o600 });
      const init = await ShimProcess.launch({
        shimPath: this.options.shimPath,
        mode: 'run',
        specFile,
        exitFile,
        terminal: spec.process.terminal,
        openStdin: spec.process.openStdin,
        logger: this.ctx.logger,
      });
      this.containers.set(spec.id, { init, confinement });
      void init.exited.then(() => {
        if (this.containers.get(spec.id)?.init === init) this.containers.delete(spec.id);
      });
      return init;
    } catch (err) {
      this.containers.delete(spec.id);
      await cgroup
        ?.destroy()
        .catch((e: Error) => this.ctx.logger.warn('cgroup cleanup failed', { error: e.message }));
      await removeStateDir(dir);
      throw err;
    }
  }

  async exec(containerId: string, process: ProcessSpec): Promise<ProcessHandle> {
    this.assertOpen();
    const dir = this.containerDir(containerId);
    const entry = this.containers.get(containerId);
    const init = entry?.init;
    if (!init?.running) throw conflict(`Container ${containerId} is not running`);
    const cgroup = await this.cgroup(containerId);
    const specFile = join(dir, `exec-${randomUUID()}.spec`);
    // The container's confinement, with what the exec itself asks for on top (`exec --privileged`).
    const inherited = entry?.confinement;
    const confinement: Confinement = {
      ...inherited,
      capabilities: process.capabilities
        ? capabilityNumbers(process.capabilities, cgroup.enforcesDeviceAllowlist)
        : (inherited?.capabilities ?? capabilityNumbers(undefined, cgroup.enforcesDeviceAllowlist)),
      noNewPrivileges: process.noNewPrivileges ?? inherited?.noNewPrivileges,
      rlimits: process.rlimits ?? inherited?.rlimits,
    };
    await writeFile(
      specFile,
      encodeExecSpec(containerId, init.pid, process, { cgroupJoin: cgroup.joinFiles(), ...confinement }),
      { mode: 0o600 },
    );
    try {
      const shim = await ShimProcess.launch({
        shimPath: this.options.shimPath,
        mode: 'exec',
        specFile,
        terminal: process.terminal,
        openStdin: process.openStdin,
        logger: this.ctx.logger,
      });
      this.execs.add(shim);
      void shim.exited.then(() => this.execs.delete(shim));
      return shim;
    } finally {
      await rm(specFile, { force: true });
    }
  }

  async processes(containerId: string): Promise<number[]> {
    this.assertOpen();
    this.containerDir(containerId);
    return (await this.cgroup(containerId)).pids();
  }

  async stats(containerId: string): Promise<ContainerStats> {
    this.assertOpen();
    this.containerDir(containerId);
    const cgroup = await this.cgroup(containerId);
    if (!(await cgroup.exists())) throw notFound(`No cgroup for container ${containerId}`);
    return cgroup.stats();
  }

  async pause(containerId: string): Promise<void> {
    await (await this.runningCgroup(containerId)).freeze();
  }

  async resume(containerId: string): Promise<void> {
    await (await this.runningCgroup(containerId)).thaw();
  }

  private async runningCgroup(containerId: string): Promise<CgroupManager> {
    this.assertOpen();
    this.containerDir(containerId);
    const cgroup = await this.cgroup(containerId);
    if (!(await cgroup.exists())) throw conflict(`Container ${containerId} is not running`);
    return cgroup;
  }

  async cleanup(containerId: string): Promise<void> {
    const dir = this.containerDir(containerId);
    // Kills whatever is left (the shims then report and exit by themselves), removes the cgroups.
    await (await this.cgroup(containerId)).destroy();
    await removeStateDir(dir);
    this.containers.delete(containerId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Containers outlive the daemon: only let go of our ends.
    for (const { init } of this.containers.values()) init?.detach();
    for (const shim of this.execs) shim.detach();
    this.containers.clear();
    this.execs.clear();
  }
}
