/**
 * Networks: the daemon's side of libnetwork. Keeps the network store and IPAM, drives the
 * network driver, runs the embedded DNS servers of user-defined networks, and gives containers
 * their sandbox and endpoints when they start (and takes them back when they stop).
 *
 * The three predefined networks exist from the first start: `bridge` (the default bridge, a
 * Linux bridge named by the `bridge` setting, subnet from `bip` or the pools), `host` and `none`.
 * Every change that hands out or takes back an address is written to the store before it is
 * reported, under one lock, so addresses are never given twice, even across a crash.
 *
 * This class is the facade; the work is done by the modules it wires together:
 * live-networks (the registry), predefined-networks, network-lifecycle (up and down),
 * client-dns (embedded-DNS answers), network-operations (the Engine API), container-endpoints
 * and container-networking (what containers get at create, start and stop).
 */
import { join } from 'node:path';
import type { ContainerEntry } from '../container/container-entry.js';
import { nameserversOf, readHostResolvConf } from '../container/network-files.js';
import type { Filters, NetworkService } from '../services.js';
import { Mutex } from '../store/index.js';
import { ClientDns } from './client-dns.js';
import { ContainerEndpoints } from './container-endpoints.js';
import { ContainerNetworking } from './container-networking.js';
import { LiveNetworks } from './live-networks.js';
import type { NetworkContext, NetworksOptions, StartNetworking } from './network-context.js';
import { bringUp } from './network-lifecycle.js';
import { NetworkOperations } from './network-operations.js';
import type { ContainerNetworkSettings } from './network-settings.js';
import { NetworkStore } from './network-store.js';
import { ensurePredefined } from './predefined-networks.js';
import { Sandboxes } from './sandbox.js';

export {
  type ContainerRegistry,
  containerModeTarget,
  type NetworksOptions,
  type StartNetworking,
} from './network-context.js';

export class Networks implements NetworkService {
  private readonly ctx: NetworkContext;
  private readonly dns: ClientDns;
  private readonly operations: NetworkOperations;
  private readonly containerNetworking: ContainerNetworking;

  private constructor(opts: NetworksOptions, hostNameservers: string[]) {
    this.ctx = {
      opts,
      networks: new LiveNetworks(opts),
      store: new NetworkStore(join(opts.dataRoot, 'network'), opts.logger),
      lock: new Mutex(),
    };
    this.dns = new ClientDns(this.ctx.networks, opts, hostNameservers);
    const endpoints = new ContainerEndpoints(this.ctx);
    this.operations = new NetworkOperations(this.ctx, endpoints, this.dns);
    this.containerNetworking = new ContainerNetworking(
      this.ctx,
      endpoints,
      new Sandboxes(join(opts.execRoot, 'netns')),
    );
  }

  /** Loads the store, makes the predefined networks and brings every bridge network up. */
  static async open(opts: NetworksOptions): Promise<Networks> {
    const n = new Networks(opts, nameserversOf(await readHostResolvConf()));
    const { networks, store } = n.ctx;
    for (const stored of await store.load()) networks.add({ stored, space: null, dns: null });
    await ensurePredefined(n.ctx);
    for (const live of networks.values()) {
      if (live.stored.network.Driver === opts.driver.name) await bringUp(n.ctx, n.dns, live);
    }
    return n;
  }

  // ---- the Engine API ----------------------------------------------------------------------

  list(opts: { filters: Filters }): Promise<Record<string, unknown>[]> {
    return this.operations.list(opts);
  }

  inspect(ref: string): Promise<Record<string, unknown>> {
    return this.operations.inspect(ref);
  }

  create(body: unknown): Promise<{ Id: string; Warning: string }> {
    return this.operations.create(body);
  }

  remove(ref: string): Promise<void> {
    return this.operations.remove(ref);
  }

  prune(opts: { filters: Filters }): Promise<{ NetworksDeleted: string[] }> {
    return this.operations.prune(opts);
  }

  connect(ref: string, body: unknown): Promise<void> {
    return this.operations.connect(ref, body);
  }

  disconnect(ref: string, body: unknown): Promise<void> {
    return this.operations.disconnect(ref, body);
  }

  // ---- containers --------------------------------------------------------------------------

  /**
   * Checks a create request's networking and returns the settings to store: the network the
   * mode names (with the endpoint config the client sent for it) and any further networks from
   * NetworkingConfig. Nothing is allocated until the container starts.
   */
  planCreate(...request: Parameters<ContainerNetworking['planCreate']>): ContainerNetworkSettings {
    return this.containerNetworking.planCreate(...request);
  }

  /**
   * Gives a starting container its networking: the sandbox, an endpoint on each of its
   * networks, its published ports, and the contents of its hostname, hosts and resolv.conf.
   * All or nothing: on failure everything made so far is released.
   */
  attach(entry: ContainerEntry): Promise<StartNetworking> {
    return this.containerNetworking.attach(entry);
  }

  /** Releases a container's endpoints, ports and sandbox (at stop, exit, rm, or after a crash). */
  detach(entry: ContainerEntry): Promise<void> {
    return this.containerNetworking.detach(entry);
  }

  /** After the containers were restored: releases what non-running containers still hold. */
  reconcile(): Promise<void> {
    return this.containerNetworking.reconcile();
  }

  /** Daemon shutdown: DNS servers stop, the driver removes its kernel state. */
  async close(): Promise<void> {
    await this.ctx.lock.run(async () => {
      for (const live of this.ctx.networks.values()) {
        await live.dns?.close().catch(() => {});
        live.dns = null;
      }
      await this.ctx.opts.driver.close();
    });
  }
}
