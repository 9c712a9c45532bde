/**
 * The Daemon: owns the stores and drivers, wires them together at start-up in the seed's order
 * (graph driver → image and tag stores → network driver and networks → exec driver → containers
 * restored), and shuts down
 * cleanly. It implements DaemonServices, so the API server (or an embedding program) drives it.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { DaemonConfig } from './config/daemon-config.js';
import { ContainerFiles } from './container/container-archive.js';
import { Containers } from './container/container-service.js';
import type {
  ExecDriverDescriptor,
  GraphDriverDescriptor,
  Logger,
  NetworkDriverDescriptor,
} from './drivers/descriptor.js';
import type { ExecDriver } from './drivers/exec-driver.js';
import type { DiffGraphDriver, GraphDriver } from './drivers/graph-driver.js';
import {
  createDriver,
  type ImportModule,
  importDriver,
  makeDriverContext,
  packageForDriver,
  parseKeyValueOptions,
} from './drivers/loader.js';
import { withNaiveDiff } from './drivers/naive-diff.js';
import { invalidArgument, TsdockerError } from './errors.js';
import { Execs } from './exec/exec-service.js';
import { createImageService, type ImageServiceImpl } from './image/index.js';
import { validatePools } from './network/ipam.js';
import { Networks } from './network/network-service.js';
import type { DaemonServices } from './services.js';
import { writeFileAtomic } from './store/index.js';
import { System } from './system/system-service.js';

export interface DaemonOptions {
  /** Imports a driver package by name; the CLI passes one that resolves from its own install. */
  importModule?: ImportModule;
  /** Driver descriptors given directly (embedding, tests), used instead of the loader. When
   * `drivers` is given without `network`, containers get a private loopback-only namespace. */
  drivers?: { graph?: GraphDriverDescriptor; exec?: ExecDriverDescriptor; network?: NetworkDriverDescriptor };
  logger?: Logger;
}

/** moby's priority when nothing is configured and no driver left state behind. */
const GRAPH_DRIVER_PRIORITY = ['overlay2', 'vfs'];

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function engineVersion(): string {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function loadDaemonId(dataRoot: string): Promise<string> {
  const path = join(dataRoot, 'engine-id');
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
  } catch {
    // first start
  }
  const id = randomUUID();
  await writeFileAtomic(path, `${id}\n`, 0o600);
  return id;
}

export class Daemon implements DaemonServices {
  private closed = false;

  private constructor(
    readonly config: DaemonConfig,
    readonly containers: Containers,
    readonly execs: Execs,
    readonly images: ImageServiceImpl,
    readonly system: System,
    private readonly graphDriver: GraphDriver,
    private readonly execDriver: ExecDriver,
    private readonly logger: Logger,
    readonly networks: Networks | undefined,
  ) {}

  #containerFiles: ContainerFiles | null = null;

  /** `docker diff`, `export`, `commit` and `cp`, over the containers and the image store. */
  get containerFiles(): ContainerFiles {
    this.#containerFiles ??= new ContainerFiles({
      store: this.containers.store,
      images: this.images,
      execDriver: this.execDriver,
      logger: this.logger,
      engineVersion: engineVersion(),
    });
    return this.#containerFiles;
  }

  static async start(config: DaemonConfig, options: DaemonOptions = {}): Promise<Daemon> {
    const logger = options.logger ?? silentLogger;
    const importModule = options.importModule ?? ((s: string) => import(s));
    const dataRoot = config['data-root'];
    const execRoot = config['exec-root'];
    const ctxOpts = { dataRoot, execRoot, logger };
    await mkdir(dataRoot, { recursive: true, mode: 0o710 });
    await mkdir(execRoot, { recursive: true, mode: 0o700 });
    // Also when they already existed (as dockerd does): other users must not reach container
    // rootfs or state through them (CVE-2021-41091).
    await chmod(dataRoot, 0o710);
    await chmod(execRoot, 0o700);

    // Every driver package is found before anything touches the host, so a driver that is not
    // installed fails the start with nothing to undo (no bridge, no firewall chain left behind).
    const graphDescriptor =
      options.drivers?.graph ?? (await Daemon.selectGraphDriver(config, importModule, dataRoot));
    const networkDescriptor = options.drivers
      ? options.drivers.network
      : await importDriver('network', config['network-driver'], importModule);
    const execDescriptor =
      options.drivers?.exec ?? (await importDriver('exec', config['exec-driver'], importModule));

    // 1. The graph driver (layer storage).
    const graph = await createDriver(
      graphDescriptor,
      parseKeyValueOptions(config['storage-opts'], 'storage-opts'),
      ctxOpts,
    );
    const graphDriver: DiffGraphDriver = withNaiveDiff(graph);
    logger.info('graph driver ready', { driver: graphDriver.name });

    // 2. The image, layer and tag stores on top of it.
    let containers: Containers | undefined;
    const images = createImageService({
      dataRoot,
      graphDriver,
      logger,
      engineVersion: engineVersion(),
      isImageInUse: (imageId: string) => {
        const users = containers?.store.all().filter((e) => e.record.Image === imageId) ?? [];
        const user = users.find((e) => e.record.State.Running) ?? users[0];
        return user ? { id: user.id, running: user.record.State.Running } : null;
      },
    });
    // A failed start puts the graph driver's resources (mounts, its helper) back as well.
    const releaseGraph = async (err: unknown): Promise<never> => {
      await graphDriver.cleanup().catch(() => {});
      throw err;
    };
    await images.open().catch(releaseGraph);

    // 3. The network driver, then the network store, IPAM and the predefined networks on it.
    const networks = networkDescriptor
      ? await Daemon.openNetworks(config, networkDescriptor, ctxOpts, () => containers).catch(releaseGraph)
      : undefined;
    if (networks) logger.info('network driver ready', { driver: networkDescriptor?.name });
    // From here on a failed start takes the bridges and firewall rules down again.
    const unlessStarted = <T>(step: Promise<T>): Promise<T> =>
      step.catch(async (err: unknown) => {
        await networks?.close().catch(() => {});
        return releaseGraph(err);
      });

    // 4. The exec driver.
    const execDriver = await unlessStarted(
      createDriver(execDescriptor, parseKeyValueOptions(config['exec-opts'], 'exec-opts'), ctxOpts),
    );
    logger.info('exec driver ready', { driver: execDriver.name });

    // 5. Containers (the store restored from disk) and execs.
    let execs: Execs | undefined;
    containers = new Containers({
      containersDir: join(dataRoot, 'containers'),
      images,
      execDriver,
      graphDriverName: graphDriver.name,
      logger,
      onRemoved: (id) => execs?.forgetContainer(id),
      ...(networks ? { networking: networks } : {}),
    });
    await unlessStarted(containers.restore());
    // What containers that are no longer running still held (after a crash) goes back.
    if (networks) await unlessStarted(networks.reconcile());
    execs = new Execs(containers.store, execDriver);

    const all = () => containers!.store.all();
    const system = new System({
      version: engineVersion(),
      config,
      graphDriver: { name: graphDriver.name, status: () => graphDriver.status() },
      execDriverName: execDriver.name,
      daemonId: await loadDaemonId(dataRoot),
      counts: () => {
        const list = all();
        const running = list.filter((e) => e.record.State.Running && !e.record.State.Paused).length;
        const paused = list.filter((e) => e.record.State.Paused).length;
        return {
          containers: list.length,
          running,
          paused,
          stopped: list.length - running - paused,
          images: images.count(),
        };
      },
    });
    logger.info('daemon started', { dataRoot, execRoot, containers: all().length });
    return new Daemon(config, containers, execs, images, system, graphDriver, execDriver, logger, networks);
  }

  /** Creates the network driver and opens the network store on it (the predefined networks,
   * bridges and firewall chains come up here). */
  private static async openNetworks(
    config: DaemonConfig,
    descriptor: NetworkDriverDescriptor,
    ctxOpts: { dataRoot: string; execRoot: string; logger: Logger },
    containers: () => Containers | undefined,
  ): Promise<Networks> {
    const pools = config['default-address-pools'];
    if (pools) validatePools(pools);
    const driver = await createDriver(
      descriptor,
      {
        ...parseKeyValueOptions(config['network-opts'], 'network-opts'),
        iptables: config.iptables,
        'ip-forward': config['ip-forward'],
        'userland-proxy': config['userland-proxy'],
      },
      ctxOpts,
    );
    try {
      return await Networks.open({
        dataRoot: ctxOpts.dataRoot,
        execRoot: ctxOpts.execRoot,
        driver,
        bridgeName: config.bridge,
        ...(config.bip ? { bip: config.bip } : {}),
        ...(pools ? { pools } : {}),
        logger: ctxOpts.logger,
        containers: () => ({
          find: (ref) => containers()?.store.find(ref),
          all: () => containers()?.store.all() ?? [],
          save: (entry) => containers()!.save(entry),
        }),
      });
    } catch (err) {
      await driver.close().catch(() => {});
      throw err;
    }
  }

  /**
   * moby's choice: the configured driver; else the one whose state is already on disk (refusing
   * to guess when several left state); else the first supported one in priority order.
   */
  private static async selectGraphDriver(
    config: DaemonConfig,
    importModule: ImportModule,
    dataRoot: string,
  ): Promise<GraphDriverDescriptor> {
    const configured = config['storage-driver'];
    if (configured) return importDriver('graph', configured, importModule);
    const withState: string[] = [];
    for (const name of GRAPH_DRIVER_PRIORITY) {
      if (await exists(join(dataRoot, 'image', name))) withState.push(name);
    }
    if (withState.length > 1) {
      throw invalidArgument(
        `${dataRoot} contains several graphdrivers: ${withState.join(', ')}; cleanup or explicitly choose storage driver (-s <DRIVER>)`,
      );
    }
    if (withState.length === 1) return importDriver('graph', withState[0]!, importModule);
    const reasons: string[] = [];
    for (const name of GRAPH_DRIVER_PRIORITY) {
      try {
        const descriptor = await importDriver('graph', name, importModule);
        const ctx = await makeDriverContext(descriptor, {
          dataRoot,
          execRoot: config['exec-root'],
          logger: silentLogger,
        });
        const probe = descriptor.probe ? await descriptor.probe(ctx) : { supported: true as const };
        if (probe.supported) return descriptor;
        reasons.push(`${name}: ${probe.reason}`);
      } catch (err) {
        reasons.push(
          `${name} (${packageForDriver('graph', name)}): ${TsdockerError.is(err) ? err.message : String(err)}`,
        );
      }
    }
    throw invalidArgument(`no usable storage driver: ${reasons.join('; ')}`);
  }

  /** Stops running containers, then releases the drivers. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.logger.info('daemon shutting down');
    await this.containers.stopAll(this.config['shutdown-timeout']);
    await this.networks
      ?.close()
      .catch((err) => this.logger.warn('network driver close failed', { error: String(err) }));
    await this.execDriver
      .close()
      .catch((err) => this.logger.warn('exec driver close failed', { error: String(err) }));
    await this.graphDriver
      .cleanup()
      .catch((err) => this.logger.warn('graph driver cleanup failed', { error: String(err) }));
    this.logger.info('daemon stopped');
  }
}
