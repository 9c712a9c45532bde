/**
 * Containers: create, start, stop, kill, wait, remove and the rest of `ContainerService`. Each
 * handler is a short walk through the container store, the image/layer access and the exec
 * driver, as in the seed's flow. Operations that change a container's run state hold its lock.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { Logger } from '../drivers/descriptor.js';
import type { ExecDriver, ExitStatus } from '../drivers/exec-driver.js';
import { conflict, invalidArgument, notFound, notModified, TsdockerError } from '../errors.js';
import { readJsonFileLogs } from '../logs/json-file-reader.js';
import { JsonFileLogWriter } from '../logs/json-file-writer.js';
import { secondsToNanos } from '../logs/log-time.js';
import type { Networks } from '../network/network-service.js';
import type {
  Attachment,
  AttachOptions,
  ContainerService,
  Filters,
  LogsOptions,
  LogsStream,
  WaitCondition,
  WaitResult,
} from '../services.js';
import { generateId, readJsonFile, writeFileAtomic } from '../store/index.js';
import { type ContainerRecord, initialState, markExited, markRunning } from './container.js';
import { ContainerEntry } from './container-entry.js';
import { matchContainerFilters } from './container-filters.js';
import { generateContainerName, normaliseContainerName } from './container-name.js';
import { buildContainerSpec } from './container-spec.js';
import { ContainerStore } from './container-store.js';
import { inspectView, summaryView } from './container-view.js';
import { type HostConfigInput, parseCreateBody } from './create-config.js';
import { commandOf, type ImageRuntimeConfig, mergeWithImage, verifyHostConfig } from './create-container.js';
import { setupInitLayer } from './init-layer.js';
import { renderHosts, renderResolvConf, writeNetworkFiles } from './network-files.js';
import { parseSignal } from './signals.js';
import { resolveUser } from './user.js';

const execFileAsync = promisify(execFile);

/** What containers need from the image side: image lookup and read-write layers. */
export interface ImageAccess {
  resolveImage(ref: string): Promise<{ id: string; config: { config?: ImageRuntimeConfig | null } }>;
  createRWLayer(containerId: string, imageId: string, init: (root: string) => Promise<void>): Promise<void>;
  mountRWLayer(containerId: string): Promise<string>;
  unmountRWLayer(containerId: string): Promise<void>;
  removeRWLayer(containerId: string): Promise<void>;
  /** `SizeRw` / `SizeRootFs` (optional: without it both are reported as 0). */
  rwLayerSize?(containerId: string): Promise<{ sizeRw: number; sizeRootFs: number }>;
}

export interface ContainerServiceDeps {
  /** `<data-root>/containers`. */
  containersDir: string;
  images: ImageAccess;
  execDriver: ExecDriver;
  graphDriverName: string;
  logger: Logger;
  /** Called when a container is removed, so its execs go too. */
  onRemoved?: (containerId: string) => void;
  /** Networks, sandboxes and ports. Without it containers get a private loopback-only netns. */
  networking?: Pick<Networks, 'planCreate' | 'attach' | 'detach'>;
}

const NETWORK_MODES = new Set(['', 'default', 'bridge', 'none', 'host']);
const KILL_WAIT_MS = 10_000;

/** moby maps runtime start errors to the exit codes the CLI also derives (126/127). */
function startFailureExitCode(message: string): number {
  if (message.includes('executable file not found') || message.includes('no such file or directory'))
    return 127;
  if (message.includes('permission denied') || message.includes('is a directory')) return 126;
  return 128;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class Containers implements ContainerService {
  readonly store = new ContainerStore();

  constructor(private readonly deps: ContainerServiceDeps) {}

  // ---- persistence -------------------------------------------------------------------------

  /** Writes Docker's two state files. Writes are queued per container, so a slow earlier write
   * (the "running" state) can never land after a later one (the exit of a fast process). */
  private persist(entry: ContainerEntry): Promise<void> {
    return entry.save(async () => {
      if (entry.removed) return;
      // A state change rarely touches the host config: skipping an identical file saves its
      // fsyncs. The two files are independent, so their writes (and fsyncs) overlap.
      const files = [
        ['config.v2.json', entry.record],
        ['hostconfig.json', entry.hostConfig],
      ] as const;
      await Promise.all(
        files.map(async ([file, value]) => {
          const path = join(entry.dir, file);
          const json = JSON.stringify(value);
          if (entry.saved.get(path) === json) return;
          await writeFileAtomic(path, json, 0o600);
          entry.saved.set(path, json);
        }),
      );
    });
  }

  /** Saves a container's state files (the network service's connect and disconnect use it). */
  save(entry: ContainerEntry): Promise<void> {
    return this.persist(entry);
  }

  /** Start-up: loads every container from disk. Containers that were running when the daemon
   * went away are recorded as exited (reattaching to them comes with the shim issue). */
  async restore(): Promise<void> {
    await mkdir(this.deps.containersDir, { recursive: true, mode: 0o710 });
    const autoRemove: ContainerEntry[] = [];
    for (const id of await readdir(this.deps.containersDir)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const dir = join(this.deps.containersDir, id);
      try {
        const record = await readJsonFile<ContainerRecord>(join(dir, 'config.v2.json'));
        const hostConfig = await readJsonFile<HostConfigInput>(join(dir, 'hostconfig.json'));
        if (record.ID !== id) throw new Error('id mismatch');
        const entry = new ContainerEntry(record, hostConfig, dir);
        if (record.State.Running || record.State.Paused || record.State.Status === 'removing') {
          markExited(record.State, {
            exitCode: 255,
            oomKilled: false,
            at: new Date(),
            error: 'daemon restarted while the container was running',
          });
          await this.deps.execDriver.cleanup(id).catch(() => {});
        }
        this.store.add(entry);
        await this.persist(entry);
        if (hostConfig.AutoRemove && record.State.Status === 'exited') autoRemove.push(entry);
      } catch (err) {
        this.deps.logger.warn('skipping unreadable container state', { id, error: String(err) });
      }
    }
    for (const entry of autoRemove) await this.removeEntry(entry, entry.id, true).catch(() => {});
  }

  // ---- create ------------------------------------------------------------------------------

  async create(params: {
    name?: string;
    platform?: string;
    body: unknown;
  }): Promise<{ Id: string; Warnings: string[] }> {
    const body = parseCreateBody(params.body);
    if (params.platform && !/^linux(\/(amd64|x86_64))?(\/.*)?$/.test(params.platform)) {
      throw invalidArgument(
        `image platform ${params.platform} is not supported on this daemon (linux/amd64)`,
      );
    }
    const hc: HostConfigInput = body.HostConfig ?? {};
    verifyHostConfig(hc);
    const networkSettings = this.deps.networking?.planCreate(hc, body.NetworkingConfig, body);
    if (!networkSettings && !NETWORK_MODES.has(hc.NetworkMode ?? ''))
      throw notFound(`network ${hc.NetworkMode} not found`);
    const requestedName = params.name ? normaliseContainerName(params.name) : undefined;
    const imageRef = body.Image ?? '';
    if (!imageRef) throw invalidArgument('no image specified: Config.Image is empty');
    const image = await this.deps.images.resolveImage(imageRef);
    const config = mergeWithImage(body, image.config.config ?? {}, imageRef);
    const { path, args } = commandOf(config);

    const id = generateId();
    const name = requestedName ?? this.uniqueGeneratedName();
    config.Hostname = config.Hostname || (hc.NetworkMode === 'host' ? osHostname() : id.slice(0, 12));
    // Reserved synchronously: two creates with one name cannot both pass this line.
    this.store.reserveName(name, id);
    const dir = join(this.deps.containersDir, id);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await this.deps.images.createRWLayer(id, image.id, setupInitLayer);
      const record: ContainerRecord = {
        ID: id,
        Created: new Date().toISOString(),
        Path: path,
        Args: args,
        Config: config,
        Image: image.id,
        Name: name,
        Driver: this.deps.graphDriverName,
        Platform: 'linux',
        State: initialState(),
        RestartCount: 0,
        HasBeenStartedBefore: false,
        HasBeenManuallyStopped: false,
        LogPath: join(dir, `${id}-json.log`),
        ResolvConfPath: join(dir, 'resolv.conf'),
        HostnamePath: join(dir, 'hostname'),
        HostsPath: join(dir, 'hosts'),
        ...(networkSettings ? { NetworkSettings: networkSettings } : {}),
      };
      const entry = new ContainerEntry(record, { ...hc, NetworkMode: hc.NetworkMode || 'bridge' }, dir);
      await this.persist(entry);
      this.store.releaseName(name);
      this.store.add(entry);
      return { Id: id, Warnings: [] };
    } catch (err) {
      this.store.releaseName(name);
      await this.deps.images.removeRWLayer(id).catch(() => {});
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private uniqueGeneratedName(): string {
    for (let i = 0; ; i++) {
      const name = generateContainerName(i);
      if (!this.store.nameTaken(name)) return name;
    }
  }

  // ---- views -------------------------------------------------------------------------------

  async inspect(ref: string, opts?: { size?: boolean }): Promise<Record<string, unknown>> {
    const entry = this.store.get(ref);
    const view = inspectView(entry, { name: this.deps.graphDriverName, data: null });
    if (opts?.size) Object.assign(view, await this.sizes(entry.id));
    return view;
  }

  /** `docker ps -s` / `inspect --size`: what the container wrote, and that plus its image. */
  private async sizes(containerId: string): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const measure = this.deps.images.rwLayerSize;
    if (!measure) return { SizeRw: 0, SizeRootFs: 0 };
    try {
      const { sizeRw, sizeRootFs } = await measure.call(this.deps.images, containerId);
      return { SizeRw: sizeRw, SizeRootFs: sizeRootFs };
    } catch (err) {
      // A container being removed meanwhile has no layer left to measure (moby logs and goes on).
      this.deps.logger.debug('container size unavailable', { id: containerId, error: String(err) });
      return { SizeRw: 0, SizeRootFs: 0 };
    }
  }

  async list(opts: {
    all: boolean;
    limit?: number;
    size: boolean;
    filters: Filters;
  }): Promise<Record<string, unknown>[]> {
    const now = new Date();
    const all = opts.all || (opts.limit !== undefined && opts.limit > 0);
    let entries = this.store
      .all()
      .filter((e) => !e.removed && (all || e.record.State.Running))
      .sort((a, b) => Date.parse(b.record.Created) - Date.parse(a.record.Created));
    entries = matchContainerFilters(entries, opts.filters, this.store);
    if (opts.limit !== undefined && opts.limit > 0) entries = entries.slice(0, opts.limit);
    return Promise.all(
      entries.map(async (e) => {
        const view = summaryView(e, now);
        if (opts.size) Object.assign(view, await this.sizes(e.id));
        return view;
      }),
    );
  }

  // ---- start / exit ------------------------------------------------------------------------

  async start(ref: string): Promise<void> {
    const entry = this.store.get(ref);
    await entry.lock.run(() => this.startLocked(entry));
  }

  private async startLocked(entry: ContainerEntry): Promise<void> {
    const state = entry.record.State;
    if (entry.removed) throw notFound(`No such container: ${entry.id}`);
    if (state.Paused) throw conflict('cannot start a paused container, try unpause instead');
    if (state.Running) throw notModified('container already started');

    const { record, hostConfig } = entry;
    // The rootfs and the network are independent and each waits on the kernel or a helper
    // process: they are made at the same time. Both settle before anything is decided, so a
    // failure of one never leaves the other half-made behind.
    const [mounted, attached] = await Promise.allSettled([
      this.deps.images.mountRWLayer(entry.id),
      this.deps.networking ? this.deps.networking.attach(entry) : Promise.resolve(undefined),
    ]);
    if (mounted.status === 'rejected') {
      if (attached.status === 'fulfilled') await this.deps.networking?.detach(entry).catch(() => {});
      throw mounted.reason;
    }
    const rootfs = mounted.value;
    let logWriter: JsonFileLogWriter | null = null;
    let removeSink: (() => void) | null = null;
    try {
      if (attached.status === 'rejected') throw attached.reason;
      const net = attached.value;
      const files = net ?? {
        hostname: record.Config.Hostname ?? '',
        hosts: renderHosts({
          hostname: record.Config.Hostname ?? '',
          domainname: record.Config.Domainname ?? '',
          extraHosts: hostConfig.ExtraHosts ?? [],
        }),
        resolvConf: await renderResolvConf({
          dns: hostConfig.Dns ?? [],
          dnsSearch: hostConfig.DnsSearch ?? [],
          dnsOptions: hostConfig.DnsOptions ?? [],
        }),
      };
      const [user] = await Promise.all([
        resolveUser(rootfs, record.Config.User ?? '', hostConfig.GroupAdd ?? []),
        writeNetworkFiles(
          { hostname: record.HostnamePath, hosts: record.HostsPath, resolvConf: record.ResolvConfPath },
          files,
        ),
      ]);
      const spec = buildContainerSpec({
        record,
        hostConfig,
        rootfs,
        user,
        ...(net ? { networkNamespacePath: net.namespacePath, extraEnv: net.env } : {}),
      });
      const writer = new JsonFileLogWriter(record.LogPath);
      writer.on('error', (err) =>
        this.deps.logger.error('log write failed', { id: entry.id, error: String(err) }),
      );
      logWriter = writer;
      removeSink = entry.hub.addSink((chunk) => writer.write(chunk.stream, chunk.data));
      const handle = await this.deps.execDriver.start(spec);
      entry.process = handle;
      entry.rootfs = rootfs;
      entry.logWriter = writer;
      entry.hub.beginRun(handle);
      markRunning(state, handle.pid, new Date());
      record.HasBeenStartedBefore = true;
      record.HasBeenManuallyStopped = false;
      const sinkToRemove = removeSink;
      entry.runFinished = handle.exited.then(
        (status) => this.onExit(entry, status, sinkToRemove),
        (err) =>
          this.onExit(
            entry,
            { exitCode: 255, oomKilled: false, finishedAt: new Date(), signal: String(err) },
            sinkToRemove,
          ),
      );
      await this.persist(entry);
    } catch (err) {
      removeSink?.();
      await logWriter?.close().catch(() => {});
      await this.deps.execDriver.cleanup(entry.id).catch(() => {});
      await this.deps.networking?.detach(entry).catch(() => {});
      await this.deps.images.unmountRWLayer(entry.id).catch(() => {});
      if (entry.process) throw err;
      const message = err instanceof Error ? err.message : String(err);
      markExited(state, {
        exitCode: startFailureExitCode(message),
        oomKilled: false,
        at: new Date(),
        error: message,
      });
      await this.persist(entry).catch(() => {});
      entry.hub.endRun();
      this.settleExitWaiters(entry);
      if (hostConfig.AutoRemove) this.scheduleAutoRemove(entry);
      if (TsdockerError.is(err) && err.kind !== 'internal') {
        throw new TsdockerError(err.kind, `failed to create task for container: ${message}`, { cause: err });
      }
      throw new TsdockerError('internal', `failed to create task for container: ${message}`, { cause: err });
    }
  }

  private async onExit(entry: ContainerEntry, status: ExitStatus, removeSink: () => void): Promise<void> {
    removeSink();
    await entry.logWriter?.close().catch(() => {});
    entry.logWriter = null;
    entry.process = null;
    entry.rootfs = null;
    markExited(entry.record.State, {
      exitCode: status.exitCode,
      oomKilled: status.oomKilled,
      at: status.finishedAt,
    });
    await this.persist(entry).catch((err) =>
      this.deps.logger.error('cannot save container state', { id: entry.id, error: String(err) }),
    );
    // The exit code is recorded before attached streams end: clients read it right after EOF.
    entry.hub.endRun();
    // Leftover processes and cgroups, the rootfs mount and the network are independent: they
    // are released at the same time. Addresses, ports and the sandbox go back before waiters
    // hear of the exit.
    await Promise.all([
      this.deps.execDriver
        .cleanup(entry.id)
        .catch((err) =>
          this.deps.logger.warn('exec driver cleanup failed', { id: entry.id, error: String(err) }),
        ),
      this.deps.images
        .unmountRWLayer(entry.id)
        .catch((err) => this.deps.logger.warn('unmount failed', { id: entry.id, error: String(err) })),
      this.deps.networking
        ?.detach(entry)
        .catch((err) =>
          this.deps.logger.warn('network release failed', { id: entry.id, error: String(err) }),
        ),
    ]);
    if (this.deps.networking) await this.persist(entry).catch(() => {});
    this.settleExitWaiters(entry);
    if (entry.hostConfig.AutoRemove) this.scheduleAutoRemove(entry);
  }

  private settleExitWaiters(entry: ContainerEntry): void {
    const result: WaitResult = { StatusCode: entry.record.State.ExitCode };
    for (const w of entry.exitWaiters) w(result);
    entry.exitWaiters.clear();
  }

  private scheduleAutoRemove(entry: ContainerEntry): void {
    // Not awaited by the exit path: a `stop` holding the lock waits for the exit path.
    setImmediate(() => {
      this.removeEntry(entry, entry.id, true).catch((err) => {
        if (!TsdockerError.is(err, 'not-found') && !TsdockerError.is(err, 'conflict')) {
          this.deps.logger.error('auto-remove failed', { id: entry.id, error: String(err) });
        }
      });
    });
  }

  // ---- stop / kill / restart ---------------------------------------------------------------

  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const entry = this.store.get(ref);
    const signal = opts.signal ? parseSignal(opts.signal) : undefined;
    await entry.lock.run(async () => {
      if (!entry.record.State.Running) throw notModified('container already stopped');
      entry.record.HasBeenManuallyStopped = true;
      await this.stopLocked(entry, opts.timeout, signal);
    });
  }

  private async stopLocked(entry: ContainerEntry, timeout?: number, signal?: number): Promise<void> {
    const proc = entry.process;
    const finished = entry.runFinished;
    if (!proc || !finished) return;
    const stopSignal = signal ?? parseSignal(entry.record.Config.StopSignal || 'SIGTERM');
    const seconds = timeout ?? entry.record.Config.StopTimeout ?? 10;
    await proc.signal(stopSignal).catch(() => {});
    if (entry.record.State.Paused) await this.deps.execDriver.resume?.(entry.id).catch(() => {});
    if (seconds >= 0) {
      const done = await Promise.race([finished.then(() => true), sleep(seconds * 1000).then(() => false)]);
      if (!done) await proc.signal('SIGKILL').catch(() => {});
    }
    await finished;
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const entry = this.store.get(ref);
    const num = parseSignal(signal);
    const proc = entry.process;
    if (!entry.record.State.Running || !proc) {
      throw conflict(`cannot kill container: ${ref}: container ${entry.id} is not running`);
    }
    await proc.signal(num);
    if (num === 9 && entry.runFinished) {
      if (entry.record.State.Paused) await this.deps.execDriver.resume?.(entry.id).catch(() => {});
      await Promise.race([entry.runFinished, sleep(KILL_WAIT_MS)]);
    }
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const entry = this.store.get(ref);
    const signal = opts.signal ? parseSignal(opts.signal) : undefined;
    await entry.lock.run(async () => {
      if (entry.record.State.Running) await this.stopLocked(entry, opts.timeout, signal);
      await this.startLocked(entry);
    });
  }

  // ---- wait / remove -----------------------------------------------------------------------

  async wait(
    ref: string,
    condition: WaitCondition,
    signal?: AbortSignal,
  ): Promise<{ result: Promise<WaitResult> }> {
    const entry = this.store.get(ref);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) {
      throw invalidArgument(`invalid condition: "${condition}"`);
    }
    const running = entry.record.State.Running;
    if (condition === 'not-running' && !running) {
      return { result: Promise.resolve({ StatusCode: entry.record.State.ExitCode }) };
    }
    const waiters = condition === 'removed' ? entry.removeWaiters : entry.exitWaiters;
    const result = new Promise<WaitResult>((resolve) => {
      waiters.add(resolve);
      signal?.addEventListener('abort', () => waiters.delete(resolve), { once: true });
    });
    return { result };
  }

  async remove(
    ref: string,
    opts: { force?: boolean; volumes?: boolean; link?: boolean } = {},
  ): Promise<void> {
    if (opts.link) return this.removeLink(ref);
    const entry = this.store.get(ref);
    await this.removeEntry(entry, ref, opts.force === true);
  }

  /** `rm --link /parent/alias`: forgets a legacy link (moby's `rmLink`); takes effect at the
   * parent's next start. */
  private async removeLink(ref: string): Promise<void> {
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    const slash = name.lastIndexOf('/');
    if (slash === 0) throw conflict('Conflict, cannot remove the default link name.');
    const parentName = name.slice(0, slash);
    const alias = name.slice(slash + 1);
    const parent = this.store.find(parentName);
    if (!parent) throw notFound(`Cannot get parent ${parentName} for link name ${name}`);
    const links = parent.hostConfig.Links ?? [];
    const kept = links.filter((l) => {
      const parts = l.split(':');
      const given = parts[1] ?? parts[0] ?? '';
      return given.slice(given.lastIndexOf('/') + 1) !== alias;
    });
    if (kept.length === links.length) throw notFound(`No such container: ${ref}`);
    await parent.lock.run(async () => {
      parent.hostConfig.Links = kept;
      await this.persist(parent);
    });
  }

  private async removeEntry(entry: ContainerEntry, ref: string, force: boolean): Promise<void> {
    await entry.lock.run(async () => {
      if (entry.removed) throw conflict(`removal of container ${entry.id} is already in progress`);
      if (entry.record.State.Running) {
        if (!force) {
          throw conflict(
            `cannot remove container "${ref}": container is running: stop the container before removing or force remove`,
          );
        }
        await entry.process?.signal('SIGKILL').catch(() => {});
        if (entry.record.State.Paused) await this.deps.execDriver.resume?.(entry.id).catch(() => {});
        await entry.runFinished;
      }
      entry.record.State.Status = 'removing';
      entry.removed = true;
      this.store.delete(entry);
      this.deps.onRemoved?.(entry.id);
      try {
        await this.deps.networking?.detach(entry);
        await this.deps.images.removeRWLayer(entry.id);
        await rm(entry.dir, { recursive: true, force: true });
      } catch (err) {
        this.deps.logger.error('container removal incomplete', { id: entry.id, error: String(err) });
      }
      const result: WaitResult = { StatusCode: entry.record.State.ExitCode };
      for (const w of entry.removeWaiters) w(result);
      entry.removeWaiters.clear();
    });
  }

  // ---- stdio -------------------------------------------------------------------------------

  async attach(ref: string, opts: AttachOptions): Promise<Attachment> {
    const entry = this.store.get(ref);
    const tty = entry.record.Config.Tty === true;
    const live = opts.stream
      ? entry.hub.attach({
          stdin: opts.stdin && entry.record.Config.OpenStdin === true,
          stdout: opts.stdout,
          stderr: opts.stderr,
        })
      : null;
    if (!opts.logs) {
      if (live) return live;
      return { tty, output: Readable.from([], { objectMode: true }), stdin: null, detach() {} };
    }
    const replay = readJsonFileLogs(entry.record.LogPath, {
      stdout: opts.stdout,
      stderr: opts.stderr,
      sinceNs: 0n,
      untilNs: 0n,
      tail: 'all',
      timestamps: false,
      follow: null,
    });
    const output = new PassThrough({ objectMode: true });
    replay.output.on('end', () => (live ? live.output.pipe(output) : output.end()));
    replay.output.pipe(output, { end: false });
    return {
      tty,
      output,
      stdin: live?.stdin ?? null,
      detach() {
        replay.close();
        live?.detach();
      },
    };
  }

  async resize(ref: string, rows: number, cols: number): Promise<void> {
    const entry = this.store.get(ref);
    if (!entry.process) throw conflict(`Container ${entry.id} is not running`);
    await entry.process.resize(rows, cols);
  }

  async logs(ref: string, opts: LogsOptions): Promise<LogsStream> {
    const entry = this.store.get(ref);
    if (!opts.stdout && !opts.stderr)
      throw invalidArgument('Bad parameters: you must choose at least one stream');
    const follow = opts.follow && entry.record.State.Running ? entry.logWriter : null;
    const reader = readJsonFileLogs(entry.record.LogPath, {
      stdout: opts.stdout,
      stderr: opts.stderr,
      sinceNs: opts.since > 0 ? secondsToNanos(opts.since) : 0n,
      untilNs: opts.until > 0 ? secondsToNanos(opts.until) : 0n,
      tail: opts.tail,
      timestamps: opts.timestamps,
      follow,
    });
    return { tty: entry.record.Config.Tty === true, output: reader.output, close: reader.close };
  }

  // ---- rename / pause / top ----------------------------------------------------------------

  async rename(ref: string, newName: string): Promise<void> {
    const entry = this.store.get(ref);
    const name = normaliseContainerName(newName);
    if (name === entry.name)
      throw invalidArgument('Renaming a container with the same name as its current name');
    await entry.lock.run(async () => {
      const old = entry.name;
      this.store.reserveName(name, entry.id);
      entry.record.Name = name;
      this.store.releaseName(old);
      try {
        await this.persist(entry);
      } catch (err) {
        entry.record.Name = old;
        this.store.reserveName(old, entry.id);
        this.store.releaseName(name);
        throw err;
      }
    });
  }

  async pause(ref: string): Promise<void> {
    const entry = this.store.get(ref);
    await entry.lock.run(async () => {
      const state = entry.record.State;
      if (!state.Running) throw conflict(`Container ${entry.id} is not running`);
      if (state.Paused) throw conflict(`Container ${entry.id} is already paused`);
      if (!this.deps.execDriver.pause)
        throw new TsdockerError('not-supported', 'the exec driver cannot pause containers');
      await this.deps.execDriver.pause(entry.id);
      state.Paused = true;
      state.Status = 'paused';
      await this.persist(entry);
    });
  }

  async unpause(ref: string): Promise<void> {
    const entry = this.store.get(ref);
    await entry.lock.run(async () => {
      const state = entry.record.State;
      if (!state.Paused) throw conflict(`Container ${entry.id} is not paused`);
      if (!this.deps.execDriver.resume)
        throw new TsdockerError('not-supported', 'the exec driver cannot resume containers');
      await this.deps.execDriver.resume(entry.id);
      state.Paused = false;
      state.Status = 'running';
      await this.persist(entry);
    });
  }

  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    const entry = this.store.get(ref);
    if (!entry.record.State.Running) throw conflict(`Container ${entry.id} is not running`);
    const pids = new Set(await this.deps.execDriver.processes(entry.id));
    const args = psArgs.split(/\s+/).filter(Boolean);
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync('ps', args, { maxBuffer: 16 * 1024 * 1024 }));
    } catch (err) {
      throw invalidArgument(`Error running ps: ${(err as Error).message}`);
    }
    const lines = stdout.split('\n').filter((l) => l.trim());
    const titles = (lines[0] ?? '').trim().split(/\s+/);
    const pidCol = titles.indexOf('PID');
    if (pidCol < 0) throw invalidArgument(`Couldn't find PID field in ps output`);
    const processes: string[][] = [];
    for (const line of lines.slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (!pids.has(Number(fields[pidCol]))) continue;
      // The last column (the command) may contain spaces.
      processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
    }
    return { Titles: titles, Processes: processes };
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /** Stops every running container (dockerd does the same without live-restore). */
  async stopAll(timeoutSeconds: number): Promise<void> {
    await Promise.all(
      this.store
        .all()
        .filter((e) => e.record.State.Running)
        .map((e) => e.lock.run(() => this.stopLocked(e, timeoutSeconds)).catch(() => {})),
    );
  }
}
