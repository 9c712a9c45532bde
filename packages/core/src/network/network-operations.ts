/**
 * The Engine API's network operations: list, inspect, create, remove, prune, connect and
 * disconnect. Changes run under the networks' lock (connect and disconnect inside the
 * container's lock).
 */
import type { ContainerEntry } from '../container/container-entry.js';
import { conflict, forbidden, invalidArgument, notFound, notSupported } from '../errors.js';
import type { Filters } from '../services.js';
import type { ClientDns } from './client-dns.js';
import { type ContainerEndpoints, settingsOf } from './container-endpoints.js';
import { allocateSubnet, DEFAULT_ADDRESS_POOLS, parseIpamConfig } from './ipam.js';
import { formatIp, formatSubnet, overlaps, type Subnet } from './ipv4.js';
import { type LiveNetwork, newNetworkRecord } from './live-networks.js';
import { containerModeTarget, type NetworkContext } from './network-context.js';
import { bringDown, bringUp } from './network-lifecycle.js';
import { connectBodySchema, createBodySchema, disconnectBodySchema, parseBody } from './network-requests.js';
import type { StoredNetwork } from './network-store.js';
import { networkMatches, networkView } from './network-views.js';

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class NetworkOperations {
  constructor(
    private readonly ctx: NetworkContext,
    private readonly endpoints: ContainerEndpoints,
    private readonly dns: ClientDns,
  ) {}

  private matches(live: LiveNetwork, filters: Filters): boolean {
    return networkMatches(live, this.ctx.networks.isUserDefined(live), filters);
  }

  async list(opts: { filters: Filters }): Promise<Record<string, unknown>[]> {
    return [...this.ctx.networks.values()]
      .filter((live) => this.matches(live, opts.filters))
      .sort((a, b) => a.stored.network.Created.localeCompare(b.stored.network.Created))
      .map((live) => networkView(live, false));
  }

  async inspect(ref: string): Promise<Record<string, unknown>> {
    return networkView(this.ctx.networks.get(ref), true);
  }

  async create(body: unknown): Promise<{ Id: string; Warning: string }> {
    const req = parseBody(createBodySchema, body);
    const name = req.Name;
    if (!name) throw invalidArgument('network name must not be empty');
    if (!VALID_NAME.test(name))
      throw invalidArgument(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const driver = req.Driver || this.ctx.opts.driver.name;
    if (driver === 'host' || driver === 'null')
      throw forbidden(`only one instance of "${driver}" network is allowed`);
    if (driver !== this.ctx.opts.driver.name)
      throw notFound(`could not find plugin ${driver} in v1 plugin registry: plugin not found`);
    if (req.EnableIPv6) throw notSupported('IPv6 networks are not supported by tsdocker yet');
    if (req.EnableIPv4 === false)
      throw notSupported('networks without IPv4 are not supported by tsdocker yet');
    if (req.Ingress || (req.Scope && req.Scope !== 'local'))
      throw notSupported('swarm-scoped and ingress networks are not supported by tsdocker');
    if (req.ConfigOnly) throw notSupported('config-only networks are not supported by tsdocker yet');
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default')
      throw notFound(`could not find plugin ${req.IPAM.Driver} in v1 plugin registry: plugin not found`);
    const configs = req.IPAM?.Config ?? [];
    if (configs.length > 1)
      throw notSupported('tsdocker networks have one IPv4 subnet; give at most one --subnet');
    const cfg = configs[0];
    if (cfg?.IPRange || (cfg?.AuxiliaryAddresses && Object.keys(cfg.AuxiliaryAddresses).length))
      throw notSupported('--ip-range and --aux-address are not supported by tsdocker yet');
    if (cfg?.Gateway && !cfg.Subnet) throw invalidArgument('a gateway needs a subnet: give --subnet too');

    return this.ctx.lock.run(async () => {
      if (this.ctx.networks.byName(name)) throw conflict(`network with name ${name} already exists`);
      let subnet: Subnet;
      let gateway: number;
      if (cfg?.Subnet) {
        ({ subnet, gateway } = parseIpamConfig(cfg.Subnet, cfg.Gateway ?? undefined));
        if (this.ctx.networks.subnetsInUse().some((s) => overlaps(s, subnet)))
          throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
      } else {
        subnet = allocateSubnet(
          this.ctx.opts.pools ?? DEFAULT_ADDRESS_POOLS,
          await this.ctx.networks.takenSubnets(),
        );
        gateway = subnet.base + 1;
      }
      const options = { ...(req.Options ?? {}) };
      const bridgeName = options['com.docker.network.bridge.name'];
      if (bridgeName !== undefined) {
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(bridgeName))
          throw invalidArgument(
            `invalid bridge name "${bridgeName}": at most 15 characters of [a-zA-Z0-9_.-]`,
          );
        for (const live of this.ctx.networks.values()) {
          if (live.interfaceName === bridgeName)
            throw conflict(
              `bridge name ${bridgeName} is already used by network ${live.stored.network.Name}`,
            );
        }
      }
      const stored: StoredNetwork = {
        network: newNetworkRecord(name, driver, {
          IPAM: {
            Driver: 'default',
            Options: req.IPAM?.Options ?? {},
            Config: [{ Subnet: formatSubnet(subnet), Gateway: formatIp(gateway) }],
          },
          Internal: req.Internal === true,
          Attachable: req.Attachable === true,
          Options: options,
          Labels: req.Labels ?? {},
        }),
        endpoints: {},
      };
      const live: LiveNetwork = { stored, space: null, dns: null };
      try {
        await bringUp(this.ctx, this.dns, live);
        await this.ctx.store.save(stored);
      } catch (err) {
        await bringDown(this.ctx, live).catch(() => {});
        await this.ctx.store.remove(stored.network.Id).catch(() => {});
        throw err;
      }
      this.ctx.networks.add(live);
      return { Id: stored.network.Id, Warning: '' };
    });
  }

  async remove(ref: string): Promise<void> {
    const live = this.ctx.networks.get(ref);
    await this.ctx.lock.run(() => this.removeLocked(live));
  }

  private async removeLocked(live: LiveNetwork): Promise<void> {
    const net = live.stored.network;
    if (!this.ctx.networks.isUserDefined(live))
      throw forbidden(`${net.Name} is a pre-defined network and cannot be removed`);
    if (!this.ctx.networks.has(net.Id)) throw notFound(`network ${net.Name} not found`);
    if (Object.keys(live.stored.endpoints).length > 0)
      throw forbidden(`error while removing network: network ${net.Name} id ${net.Id} has active endpoints`);
    await bringDown(this.ctx, live);
    await this.ctx.store.remove(net.Id);
    this.ctx.networks.drop(net.Id);
  }

  async prune(opts: { filters: Filters }): Promise<{ NetworksDeleted: string[] }> {
    const deleted: string[] = [];
    await this.ctx.lock.run(async () => {
      for (const live of [...this.ctx.networks.values()]) {
        if (!this.ctx.networks.isUserDefined(live) || Object.keys(live.stored.endpoints).length > 0) continue;
        const { until: _until, ...rest } = opts.filters;
        if (!this.matches(live, rest)) continue;
        try {
          await this.removeLocked(live);
          deleted.push(live.stored.network.Name);
        } catch (err) {
          this.ctx.opts.logger.warn('network prune skipped a network', {
            network: live.stored.network.Name,
            error: String(err),
          });
        }
      }
    });
    return { NetworksDeleted: deleted };
  }

  async connect(ref: string, body: unknown): Promise<void> {
    const req = parseBody(connectBodySchema, body);
    const live = this.ctx.networks.get(ref);
    const entry = this.containerEntry(req.Container);
    const endpointConfig = req.EndpointConfig ?? {};
    await entry.lock.run(() =>
      this.ctx.lock.run(async () => {
        const mode = entry.hostConfig.NetworkMode ?? '';
        const net = live.stored.network;
        if (mode === 'host' || net.Name === 'host')
          throw forbidden('container cannot be disconnected from host network or connected to host network');
        if (mode === 'none' || net.Name === 'none' || containerModeTarget(mode))
          throw forbidden(
            'container cannot be connected to multiple networks with one of the networks in private (none) mode',
          );
        const settings = settingsOf(entry);
        if (settings.Networks[net.Name])
          throw forbidden(`endpoint with name ${entry.name.slice(1)} already exists in network ${net.Name}`);
        const ep = this.endpoints.endpointSettingsFrom(live, endpointConfig);
        settings.Networks[net.Name] = ep;
        if (entry.running && settings.SandboxKey) {
          try {
            await this.endpoints.attachEndpoint(
              entry,
              live,
              ep,
              settings.SandboxKey,
              Object.keys(settings.Networks).length - 1,
              false,
            );
          } catch (err) {
            delete settings.Networks[net.Name];
            throw err;
          }
        }
        await this.ctx.opts.containers().save(entry);
      }),
    );
  }

  async disconnect(ref: string, body: unknown): Promise<void> {
    const req = parseBody(disconnectBodySchema, body);
    const live = this.ctx.networks.get(ref);
    const entry = this.containerEntry(req.Container);
    await entry.lock.run(() =>
      this.ctx.lock.run(async () => {
        const net = live.stored.network;
        if (net.Name === 'host' && entry.hostConfig.NetworkMode === 'host')
          throw forbidden('container cannot be disconnected from host network or connected to host network');
        const settings = settingsOf(entry);
        const ep = settings.Networks[net.Name];
        if (!ep) throw forbidden(`container ${entry.id} is not connected to network ${net.Name}`);
        await this.endpoints.detachEndpoint(live, ep);
        delete settings.Networks[net.Name];
        await this.ctx.opts.containers().save(entry);
      }),
    );
  }

  private containerEntry(ref: string): ContainerEntry {
    const entry = this.ctx.opts.containers().find(ref);
    if (!entry) throw notFound(`No such container: ${ref}`);
    return entry;
  }
}
