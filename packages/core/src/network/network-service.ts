/**
 * Networks: the daemon's side of libnetwork. Keeps the network store and IPAM, drives the
 * network driver, runs the embedded DNS servers of user-defined networks, and gives containers
 * their sandbox and endpoints when they start (and takes them back when they stop).
 *
 * The three predefined networks exist from the first start: `bridge` (the default bridge, a
 * Linux bridge named by the `bridge` setting, subnet from `bip` or the pools), `host` and `none`.
 * Every change that hands out or takes back an address is written to the store before it is
 * reported, under one lock, so addresses are never given twice, even across a crash.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerEntry } from '../container/container-entry.js';
import type { HostConfigInput } from '../container/create-config.js';
import {
  nameserversOf,
  readHostResolvConf,
  renderHosts,
  renderResolvConf,
} from '../container/network-files.js';
import type { Logger } from '../drivers/descriptor.js';
import type { NetworkDriver } from '../drivers/network-driver.js';
import { conflict, forbidden, invalidArgument, notFound, notSupported } from '../errors.js';
import type { Filters, NetworkService } from '../services.js';
import { generateId, IdIndex, Mutex, shortId } from '../store/index.js';
import { DnsServer } from './dns-server.js';
import { hostNameserverSubnets, hostRouteSubnets } from './host-routes.js';
import {
  type AddressPool,
  AddressSpace,
  allocateSubnet,
  DEFAULT_ADDRESS_POOLS,
  parseIpamConfig,
} from './ipam.js';
import {
  contains,
  formatIp,
  formatSubnet,
  macForIp,
  overlaps,
  parseCidr,
  parseIp,
  parseSubnet,
  type Subnet,
} from './ipv4.js';
import { linkEnv, parseLink } from './links.js';
import { matchesNetworkFilters } from './network-filters.js';
import {
  connectBodySchema,
  createBodySchema,
  disconnectBodySchema,
  type EndpointConfigInput,
  endpointConfigSchema,
  parseBody,
} from './network-requests.js';
import {
  type ContainerNetworkSettings,
  clearRuntime,
  type EndpointSettings,
  emptyEndpointSettings,
} from './network-settings.js';
import {
  type EndpointRecord,
  type NetworkRecord,
  NetworkStore,
  type StoredNetwork,
} from './network-store.js';
import {
  type PortBindingsInput,
  portMapFrom,
  publicationsFor,
  validatePortBindings,
} from './port-bindings.js';
import { Sandboxes } from './sandbox.js';

/** What the network service needs from the container side. */
export interface ContainerRegistry {
  find(ref: string): ContainerEntry | undefined;
  all(): ContainerEntry[];
  save(entry: ContainerEntry): Promise<void>;
}

export interface NetworksOptions {
  dataRoot: string;
  execRoot: string;
  driver: NetworkDriver;
  /** The default bridge's interface name (`bridge` in daemon.json). */
  bridgeName: string;
  /** `bip`: the default bridge's gateway address with prefix. */
  bip?: string;
  pools?: AddressPool[];
  logger: Logger;
  containers: () => ContainerRegistry;
}

/** What a starting container gets from its networks. */
export interface StartNetworking {
  /** The sandbox to join, or null to share the host's network namespace. */
  namespacePath: string | null;
  hostname: string;
  hosts: string;
  resolvConf: string;
  /** Environment variables from legacy links. */
  env: string[];
}

interface LiveNetwork {
  stored: StoredNetwork;
  space: AddressSpace | null;
  dns: DnsServer | null;
  interfaceName?: string;
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function randomId(): string {
  return randomBytes(32).toString('hex');
}

/** `container:<ref>` → ref. */
export function containerModeTarget(mode: string): string | undefined {
  return mode.startsWith('container:') ? mode.slice('container:'.length) : undefined;
}

function primaryNetworkName(mode: string): string {
  return mode === '' || mode === 'default' ? 'bridge' : mode;
}

export class Networks implements NetworkService {
  private readonly byId = new Map<string, LiveNetwork>();
  private readonly ids = new IdIndex();
  private readonly lock = new Mutex();
  private readonly sandboxes: Sandboxes;
  private readonly store: NetworkStore;
  private hostNameservers: string[] = [];
  /** Each stopped container's last address per network, offered to it again at its next start. */
  private readonly lastAddresses = new Map<string, Map<string, number>>();

  private constructor(private readonly opts: NetworksOptions) {
    this.sandboxes = new Sandboxes(join(opts.execRoot, 'netns'));
    this.store = new NetworkStore(join(opts.dataRoot, 'network'), opts.logger);
  }

  /** Loads the store, makes the predefined networks and brings every bridge network up. */
  static async open(opts: NetworksOptions): Promise<Networks> {
    const n = new Networks(opts);
    n.hostNameservers = nameserversOf(await readHostResolvConf());
    for (const stored of await n.store.load()) n.add({ stored, space: null, dns: null });
    await n.ensurePredefined();
    for (const live of n.byId.values()) {
      if (live.stored.network.Driver === opts.driver.name) await n.bringUp(live);
    }
    return n;
  }

  private add(live: LiveNetwork): void {
    this.byId.set(live.stored.network.Id, live);
    this.ids.add(live.stored.network.Id);
  }

  private drop(id: string): void {
    this.byId.delete(id);
    this.ids.delete(id);
  }

  private byName(name: string): LiveNetwork | undefined {
    for (const live of this.byId.values()) if (live.stored.network.Name === name) return live;
    return undefined;
  }

  /** Docker's lookup order: full id, exact name, then a unique id prefix. */
  private find(ref: string): LiveNetwork | undefined {
    if (!ref) return undefined;
    const exact = this.byId.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    try {
      const id = this.ids.get(ref);
      return id === undefined ? undefined : this.byId.get(id);
    } catch {
      return undefined;
    }
  }

  private get(ref: string): LiveNetwork {
    const live = this.find(ref);
    if (!live) throw notFound(`network ${ref} not found`);
    return live;
  }

  private isBridgeDriver(live: LiveNetwork): boolean {
    return live.stored.network.Driver === this.opts.driver.name;
  }

  private isUserDefined(live: LiveNetwork): boolean {
    return !PREDEFINED.has(live.stored.network.Name);
  }

  private subnetsInUse(except?: string): Subnet[] {
    const out: Subnet[] = [];
    for (const live of this.byId.values()) {
      if (live.stored.network.Id === except) continue;
      for (const c of live.stored.network.IPAM.Config) out.push(parseSubnet(c.Subnet));
    }
    return out;
  }

  private async takenSubnets(): Promise<Subnet[]> {
    const ours = new Set([...this.byId.values()].map((l) => l.interfaceName).filter((n): n is string => !!n));
    ours.add(this.opts.bridgeName);
    return [...this.subnetsInUse(), ...(await hostRouteSubnets(ours)), ...(await hostNameserverSubnets())];
  }

  private newRecord(name: string, driver: string, fields: Partial<NetworkRecord> = {}): NetworkRecord {
    return {
      Name: name,
      Id: generateId(),
      Created: new Date().toISOString(),
      Scope: 'local',
      Driver: driver,
      EnableIPv4: true,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Options: {},
      Labels: {},
      ...fields,
    };
  }

  private async ensurePredefined(): Promise<void> {
    for (const [name, driver] of [
      ['host', 'host'],
      ['none', 'null'],
    ] as const) {
      if (this.byName(name)) continue;
      const stored = { network: this.newRecord(name, driver), endpoints: {} };
      await this.store.save(stored);
      this.add({ stored, space: null, dns: null });
    }
    const options = {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.enable_ip_masquerade': 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': this.opts.bridgeName,
      'com.docker.network.driver.mtu': '1500',
    };
    let wanted: { Subnet: string; Gateway: string } | undefined;
    if (this.opts.bip) {
      const parsed = parseCidr(this.opts.bip);
      if (!parsed || parsed.ip === parsed.subnet.base)
        throw invalidArgument(
          `invalid bip ${this.opts.bip}: expected the bridge's address with a prefix, e.g. 172.30.0.1/16`,
        );
      wanted = { Subnet: formatSubnet(parsed.subnet), Gateway: formatIp(parsed.ip) };
    }
    const existing = this.byName('bridge');
    if (existing) {
      const net = existing.stored.network;
      const current = net.IPAM.Config[0];
      const changed =
        (wanted && (current?.Subnet !== wanted.Subnet || current?.Gateway !== wanted.Gateway)) ||
        net.Options['com.docker.network.bridge.name'] !== this.opts.bridgeName;
      if (!changed) return;
      if (wanted) net.IPAM.Config = [wanted];
      net.Options = options;
      existing.stored.endpoints = {};
      await this.store.save(existing.stored);
      return;
    }
    if (!wanted) {
      const subnet = allocateSubnet(this.opts.pools ?? DEFAULT_ADDRESS_POOLS, await this.takenSubnets());
      wanted = { Subnet: formatSubnet(subnet), Gateway: formatIp(subnet.base + 1) };
    } else {
      const subnet = parseSubnet(wanted.Subnet);
      if (this.subnetsInUse().some((s) => overlaps(s, subnet)))
        throw invalidArgument(`bip ${this.opts.bip} overlaps a network of this daemon`);
    }
    const stored = {
      network: this.newRecord('bridge', this.opts.driver.name, {
        IPAM: { Driver: 'default', Options: null, Config: [wanted] },
        Options: options,
      }),
      endpoints: {},
    };
    await this.store.save(stored);
    this.add({ stored, space: null, dns: null });
  }

  /** Kernel state and IPAM for a bridge-driver network; DNS for user-defined ones. */
  private async bringUp(live: LiveNetwork): Promise<void> {
    const net = live.stored.network;
    const cfg = net.IPAM.Config[0];
    if (!cfg) throw invalidArgument(`network ${net.Name} has no IPv4 subnet`);
    const subnet = parseSubnet(cfg.Subnet);
    const gateway = parseIp(cfg.Gateway);
    if (gateway === undefined)
      throw invalidArgument(`network ${net.Name} has an invalid gateway ${cfg.Gateway}`);
    const space = new AddressSpace(subnet, gateway);
    for (const ep of Object.values(live.stored.endpoints)) {
      const ip = parseCidr(ep.address)?.ip;
      if (ip !== undefined && !space.isUsed(ip)) space.reserve(ip);
    }
    const info = await this.opts.driver.createNetwork({
      id: net.Id,
      name: net.Name,
      options: net.Options,
      subnet: cfg.Subnet,
      gateway: cfg.Gateway,
      internal: net.Internal,
      isDefault: net.Name === 'bridge',
    });
    live.space = space;
    live.interfaceName = info.interfaceName;
    if (info.options) net.Options = { ...net.Options, ...info.options };
    if (this.isUserDefined(live)) {
      const dns = new DnsServer(cfg.Gateway, this.resolverFor(net.Id), this.opts.logger);
      try {
        await dns.start();
        live.dns = dns;
      } catch (err) {
        this.opts.logger.warn('embedded DNS server could not start; containers use the host resolvers', {
          network: net.Name,
          error: String(err),
        });
      }
    }
  }

  private async bringDown(live: LiveNetwork): Promise<void> {
    await live.dns?.close().catch(() => {});
    live.dns = null;
    if (this.isBridgeDriver(live)) await this.opts.driver.deleteNetwork(live.stored.network.Id);
  }

  // ---- DNS ---------------------------------------------------------------------------------

  /** Networks a client address belongs to (its container's user-defined networks). */
  private networksOfClient(client: string, fallback: string): LiveNetwork[] {
    for (const live of this.byId.values()) {
      for (const ep of Object.values(live.stored.endpoints)) {
        if (ep.address.split('/')[0] !== client) continue;
        return [...this.byId.values()].filter(
          (l) =>
            this.isUserDefined(l) &&
            Object.values(l.stored.endpoints).some((e) => e.containerId === ep.containerId),
        );
      }
    }
    const own = this.byId.get(fallback);
    return own ? [own] : [];
  }

  private containerOfClient(client: string): ContainerEntry | undefined {
    for (const live of this.byId.values()) {
      for (const ep of Object.values(live.stored.endpoints)) {
        if (ep.address.split('/')[0] === client) return this.opts.containers().find(ep.containerId);
      }
    }
    return undefined;
  }

  private resolverFor(networkId: string) {
    return {
      allowed: (client: string): boolean => {
        const subnet = this.byId.get(networkId)?.space?.subnet;
        const ip = parseIp(client);
        return subnet !== undefined && ip !== undefined && contains(subnet, ip);
      },
      lookup: (name: string, client: string): string[] | undefined => {
        const found: string[] = [];
        for (const live of this.networksOfClient(client, networkId)) {
          const suffix = `.${live.stored.network.Name.toLowerCase()}`;
          const short = name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
          for (const ep of Object.values(live.stored.endpoints)) {
            if (ep.dnsNames.some((n) => n.toLowerCase() === short || n.toLowerCase() === name)) {
              const ip = ep.address.split('/')[0];
              if (ip && !found.includes(ip)) found.push(ip);
            }
          }
        }
        return found.length ? found : undefined;
      },
      reverse: (ip: string, client: string): string | undefined => {
        for (const live of this.networksOfClient(client, networkId)) {
          for (const ep of Object.values(live.stored.endpoints)) {
            if (ep.address.split('/')[0] === ip) return `${ep.name}.${live.stored.network.Name}`;
          }
        }
        return undefined;
      },
      upstreams: (client: string): string[] => {
        const dns = this.containerOfClient(client)?.hostConfig.Dns;
        return dns?.length ? dns : this.hostNameservers;
      },
    };
  }

  // ---- the Engine API ----------------------------------------------------------------------

  private view(live: LiveNetwork, withContainers: boolean): Record<string, unknown> {
    const containers: Record<string, unknown> = {};
    if (withContainers) {
      for (const ep of Object.values(live.stored.endpoints)) {
        containers[ep.containerId] = {
          Name: ep.name,
          EndpointID: ep.id,
          MacAddress: ep.macAddress,
          IPv4Address: ep.address,
          IPv6Address: '',
        };
      }
    }
    return { ...live.stored.network, Containers: containers };
  }

  private matches(live: LiveNetwork, filters: Filters): boolean {
    return matchesNetworkFilters(live.stored.network, {
      userDefined: this.isUserDefined(live),
      endpoints: Object.keys(live.stored.endpoints).length,
      filters,
    });
  }

  async list(opts: { filters: Filters }): Promise<Record<string, unknown>[]> {
    return [...this.byId.values()]
      .filter((live) => this.matches(live, opts.filters))
      .sort((a, b) => a.stored.network.Created.localeCompare(b.stored.network.Created))
      .map((live) => this.view(live, false));
  }

  async inspect(ref: string): Promise<Record<string, unknown>> {
    return this.view(this.get(ref), true);
  }

  async create(body: unknown): Promise<{ Id: string; Warning: string }> {
    const req = parseBody(createBodySchema, body);
    const name = req.Name;
    if (!name) throw invalidArgument('network name must not be empty');
    if (!VALID_NAME.test(name))
      throw invalidArgument(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const driver = req.Driver || this.opts.driver.name;
    if (driver === 'host' || driver === 'null')
      throw forbidden(`only one instance of "${driver}" network is allowed`);
    if (driver !== this.opts.driver.name)
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

    return this.lock.run(async () => {
      if (this.byName(name)) throw conflict(`network with name ${name} already exists`);
      let subnet: Subnet;
      let gateway: number;
      if (cfg?.Subnet) {
        ({ subnet, gateway } = parseIpamConfig(cfg.Subnet, cfg.Gateway ?? undefined));
        if (this.subnetsInUse().some((s) => overlaps(s, subnet)))
          throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
      } else {
        subnet = allocateSubnet(this.opts.pools ?? DEFAULT_ADDRESS_POOLS, await this.takenSubnets());
        gateway = subnet.base + 1;
      }
      const options = { ...(req.Options ?? {}) };
      const bridgeName = options['com.docker.network.bridge.name'];
      if (bridgeName !== undefined) {
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(bridgeName))
          throw invalidArgument(
            `invalid bridge name "${bridgeName}": at most 15 characters of [a-zA-Z0-9_.-]`,
          );
        for (const live of this.byId.values()) {
          if (live.interfaceName === bridgeName)
            throw conflict(
              `bridge name ${bridgeName} is already used by network ${live.stored.network.Name}`,
            );
        }
      }
      const stored: StoredNetwork = {
        network: this.newRecord(name, driver, {
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
        await this.bringUp(live);
        await this.store.save(stored);
      } catch (err) {
        await this.bringDown(live).catch(() => {});
        await this.store.remove(stored.network.Id).catch(() => {});
        throw err;
      }
      this.add(live);
      return { Id: stored.network.Id, Warning: '' };
    });
  }

  async remove(ref: string): Promise<void> {
    const live = this.get(ref);
    await this.lock.run(() => this.removeLocked(live));
  }

  private async removeLocked(live: LiveNetwork): Promise<void> {
    const net = live.stored.network;
    if (!this.isUserDefined(live))
      throw forbidden(`${net.Name} is a pre-defined network and cannot be removed`);
    if (!this.byId.has(net.Id)) throw notFound(`network ${net.Name} not found`);
    if (Object.keys(live.stored.endpoints).length > 0)
      throw forbidden(`error while removing network: network ${net.Name} id ${net.Id} has active endpoints`);
    await this.bringDown(live);
    await this.store.remove(net.Id);
    this.drop(net.Id);
  }

  async prune(opts: { filters: Filters }): Promise<{ NetworksDeleted: string[] }> {
    const deleted: string[] = [];
    await this.lock.run(async () => {
      for (const live of [...this.byId.values()]) {
        if (!this.isUserDefined(live) || Object.keys(live.stored.endpoints).length > 0) continue;
        const { until: _until, ...rest } = opts.filters;
        if (!this.matches(live, rest)) continue;
        try {
          await this.removeLocked(live);
          deleted.push(live.stored.network.Name);
        } catch (err) {
          this.opts.logger.warn('network prune skipped a network', {
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
    const live = this.get(ref);
    const entry = this.containerEntry(req.Container);
    const endpointConfig = req.EndpointConfig ?? {};
    await entry.lock.run(() =>
      this.lock.run(async () => {
        const mode = entry.hostConfig.NetworkMode ?? '';
        const net = live.stored.network;
        if (mode === 'host' || net.Name === 'host')
          throw forbidden('container cannot be disconnected from host network or connected to host network');
        if (mode === 'none' || net.Name === 'none' || containerModeTarget(mode))
          throw forbidden(
            'container cannot be connected to multiple networks with one of the networks in private (none) mode',
          );
        const settings = this.settingsOf(entry);
        if (settings.Networks[net.Name])
          throw forbidden(`endpoint with name ${entry.name.slice(1)} already exists in network ${net.Name}`);
        const ep = this.endpointSettingsFrom(live, endpointConfig);
        settings.Networks[net.Name] = ep;
        if (entry.running && settings.SandboxKey) {
          try {
            await this.attachEndpoint(
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
        await this.opts.containers().save(entry);
      }),
    );
  }

  async disconnect(ref: string, body: unknown): Promise<void> {
    const req = parseBody(disconnectBodySchema, body);
    const live = this.get(ref);
    const entry = this.containerEntry(req.Container);
    await entry.lock.run(() =>
      this.lock.run(async () => {
        const net = live.stored.network;
        if (net.Name === 'host' && entry.hostConfig.NetworkMode === 'host')
          throw forbidden('container cannot be disconnected from host network or connected to host network');
        const settings = this.settingsOf(entry);
        const ep = settings.Networks[net.Name];
        if (!ep) throw forbidden(`container ${entry.id} is not connected to network ${net.Name}`);
        await this.detachEndpoint(live, ep);
        delete settings.Networks[net.Name];
        await this.opts.containers().save(entry);
      }),
    );
  }

  private containerEntry(ref: string): ContainerEntry {
    const entry = this.opts.containers().find(ref);
    if (!entry) throw notFound(`No such container: ${ref}`);
    return entry;
  }

  // ---- containers --------------------------------------------------------------------------

  private settingsOf(entry: ContainerEntry): ContainerNetworkSettings {
    entry.record.NetworkSettings ??= { SandboxID: '', SandboxKey: '', Ports: {}, Networks: {} };
    return entry.record.NetworkSettings;
  }

  private endpointSettingsFrom(live: LiveNetwork, raw: EndpointConfigInput): EndpointSettings {
    const ep = emptyEndpointSettings(live.stored.network.Id);
    const aliases = raw.Aliases?.filter(Boolean) ?? [];
    if (aliases.length && !this.isUserDefined(live))
      throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
    const ipv4 = raw.IPAMConfig?.IPv4Address;
    if (ipv4) {
      if (!this.isUserDefined(live))
        throw invalidArgument('user specified IP address is supported on user defined networks only');
      const ip = parseIp(ipv4);
      const subnet = parseSubnet(live.stored.network.IPAM.Config[0]?.Subnet ?? '0.0.0.0/32');
      if (ip === undefined) throw invalidArgument(`invalid IPv4 address: ${ipv4}`);
      if ((ip & (0xffffffff << (32 - subnet.bits))) >>> 0 !== subnet.base)
        throw invalidArgument(`no configured subnet or ip-range contain the IP address ${ipv4}`);
      ep.IPAMConfig = { IPv4Address: ipv4 };
    }
    ep.Aliases = aliases.length ? aliases : null;
    ep.Links = raw.Links?.length ? raw.Links : null;
    ep.DriverOpts = raw.DriverOpts ?? null;
    return ep;
  }

  /**
   * Checks a create request's networking and returns the settings to store: the network the
   * mode names (with the endpoint config the client sent for it) and any further networks from
   * NetworkingConfig. Nothing is allocated until the container starts.
   */
  planCreate(
    hc: HostConfigInput & {
      PortBindings?: PortBindingsInput | null;
      PublishAllPorts?: boolean | null;
      Links?: string[] | null;
    },
    networkingConfig: { EndpointsConfig?: Record<string, unknown> | null } | null | undefined,
    config: { Hostname?: string | null; NetworkDisabled?: boolean | null },
  ): ContainerNetworkSettings {
    const mode = hc.NetworkMode ?? '';
    validatePortBindings(hc.PortBindings);
    const settings: ContainerNetworkSettings = { SandboxID: '', SandboxKey: '', Ports: {}, Networks: {} };
    const target = containerModeTarget(mode);
    if (target !== undefined) {
      if (hc.PortBindings && Object.keys(hc.PortBindings).length)
        throw invalidArgument('conflicting options: port publishing and the container type network mode');
      if (hc.PublishAllPorts)
        throw invalidArgument('conflicting options: port publishing and the container type network mode');
      if (hc.ExtraHosts?.length)
        throw invalidArgument('conflicting options: custom host-to-IP mapping and the network mode');
      if (hc.Dns?.length || hc.DnsSearch?.length || hc.DnsOptions?.length)
        throw invalidArgument('conflicting options: dns and the network mode');
      if (config.Hostname) throw invalidArgument('conflicting options: hostname and the network mode');
      if (hc.Links?.length)
        throw invalidArgument(
          "conflicting options: container type network can't be used with links. This would result in undefined behavior",
        );
      if (!target) throw invalidArgument('invalid network mode: container: needs a container name or id');
      if (!this.opts.containers().find(target)) throw notFound(`No such container: ${target}`);
      return settings;
    }
    for (const link of hc.Links ?? []) {
      const spec = parseLink(link);
      if (!this.opts.containers().find(spec.target))
        throw invalidArgument(
          `could not get container for ${spec.target}: No such container: ${spec.target}`,
        );
    }
    if (mode === 'host' && hc.Links?.length)
      throw invalidArgument(
        "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
      );
    const primary = this.get(primaryNetworkName(mode));
    const endpoints = networkingConfig?.EndpointsConfig ?? {};
    const configFor = (live: LiveNetwork, key?: string) => {
      const raw = endpoints[key ?? live.stored.network.Name] ?? endpoints[live.stored.network.Id] ?? {};
      return this.endpointSettingsFrom(live, parseBody(endpointConfigSchema, raw ?? {}));
    };
    const primaryKey = mode === '' || mode === 'default' ? (endpoints.default ? 'default' : 'bridge') : mode;
    settings.Networks[primary.stored.network.Name] = configFor(primary, primaryKey);
    for (const key of Object.keys(endpoints)) {
      if (key === primaryKey || key === primary.stored.network.Name || key === primary.stored.network.Id)
        continue;
      if (key === 'default' && primary.stored.network.Name === 'bridge') continue;
      const other = this.get(key);
      if (settings.Networks[other.stored.network.Name]) continue;
      if (
        ['host', 'none'].includes(other.stored.network.Name) ||
        ['host', 'none'].includes(primary.stored.network.Name)
      )
        throw invalidArgument(
          'conflicting options: host and none networks cannot be combined with other networks',
        );
      settings.Networks[other.stored.network.Name] = configFor(other, key);
    }
    return settings;
  }

  /** Allocates, creates and joins one endpoint; records it (store first, then settings). */
  private async attachEndpoint(
    entry: ContainerEntry,
    live: LiveNetwork,
    ep: EndpointSettings,
    sandboxKey: string,
    index: number,
    gatewayEndpoint: boolean,
  ): Promise<void> {
    const net = live.stored.network;
    const space = live.space;
    if (!space) throw notFound(`network ${net.Name} not found`);
    const wanted = ep.IPAMConfig?.IPv4Address ? parseIp(ep.IPAMConfig.IPv4Address) : undefined;
    if (wanted !== undefined && space.isUsed(wanted))
      throw conflict(`Address already in use: ${ep.IPAMConfig?.IPv4Address}`);
    const ip = space.allocate(wanted ?? this.lastAddresses.get(entry.id)?.get(net.Id));
    const endpointId = randomId();
    const cidr = `${formatIp(ip)}/${space.subnet.bits}`;
    const mac = macForIp(ip);
    const name = entry.name.slice(1);
    const userDefined = this.isUserDefined(live);
    const dnsNames = userDefined ? [name, shortId(entry.id), ...(ep.Aliases ?? [])] : [];
    const record: EndpointRecord = {
      id: endpointId,
      containerId: entry.id,
      name,
      address: cidr,
      macAddress: mac,
      dnsNames,
    };
    live.stored.endpoints[endpointId] = record;
    try {
      await this.store.save(live.stored);
      await this.opts.driver.createEndpoint(net.Id, {
        id: endpointId,
        containerId: entry.id,
        address: cidr,
        macAddress: mac,
      });
      await this.opts.driver.join(net.Id, endpointId, {
        sandboxKey,
        interfaceName: `eth${index}`,
        ...(gatewayEndpoint && !net.Internal ? { defaultGateway: net.IPAM.Config[0]?.Gateway ?? '' } : {}),
      });
    } catch (err) {
      await this.opts.driver.leave(net.Id, endpointId).catch(() => {});
      await this.opts.driver.deleteEndpoint(net.Id, endpointId).catch(() => {});
      delete live.stored.endpoints[endpointId];
      space.release(ip);
      await this.store.save(live.stored).catch(() => {});
      throw err;
    }
    Object.assign(ep, {
      NetworkID: net.Id,
      EndpointID: endpointId,
      Gateway: net.IPAM.Config[0]?.Gateway ?? '',
      IPAddress: formatIp(ip),
      IPPrefixLen: space.subnet.bits,
      MacAddress: mac,
      DNSNames: userDefined ? dnsNames : null,
    } satisfies Partial<EndpointSettings>);
  }

  /** Takes one endpoint back. Safe to call for an endpoint that is already gone. */
  private async detachEndpoint(live: LiveNetwork | undefined, ep: EndpointSettings): Promise<void> {
    const endpointId = ep.EndpointID;
    if (!live || !endpointId) return;
    const record = live.stored.endpoints[endpointId];
    if (this.isBridgeDriver(live)) {
      await this.opts.driver
        .unpublishPorts(live.stored.network.Id, endpointId)
        .catch((err) =>
          this.opts.logger.warn('unpublishing ports failed', { endpoint: endpointId, error: String(err) }),
        );
      await this.opts.driver.leave(live.stored.network.Id, endpointId).catch(() => {});
      await this.opts.driver.deleteEndpoint(live.stored.network.Id, endpointId).catch(() => {});
    }
    if (record) {
      const ip = parseCidr(record.address)?.ip;
      if (ip !== undefined) live.space?.release(ip);
      delete live.stored.endpoints[endpointId];
      await this.store.save(live.stored);
    }
  }

  /**
   * Gives a starting container its networking: the sandbox, an endpoint on each of its
   * networks, its published ports, and the contents of its hostname, hosts and resolv.conf.
   * All or nothing: on failure everything made so far is released.
   */
  async attach(entry: ContainerEntry): Promise<StartNetworking> {
    const hc = entry.hostConfig as HostConfigInput & {
      PortBindings?: PortBindingsInput | null;
      PublishAllPorts?: boolean | null;
    };
    const mode = hc.NetworkMode ?? '';
    const record = entry.record;
    const settings = this.settingsOf(entry);
    const target = containerModeTarget(mode);
    if (target !== undefined) return this.attachToContainer(entry, target);

    return this.lock.run(async () => {
      const hostname = record.Config.Hostname ?? '';
      const primaryName = primaryNetworkName(mode);
      const defaultGateway = this.byName('bridge')?.stored.network.IPAM.Config[0]?.Gateway;
      if (Object.keys(settings.Networks).length === 0) {
        const primary = this.get(primaryName);
        settings.Networks[primary.stored.network.Name] = emptyEndpointSettings(primary.stored.network.Id);
      }
      if (primaryName === 'host') {
        const live = this.get('host');
        await this.recordPseudoEndpoint(entry, live, settings);
        // Host networking copies the host's /etc/hosts, then the --add-host entries.
        const hostsText = await readFile('/etc/hosts', 'utf8').catch(() => '');
        const extra = (hc.ExtraHosts ?? []).map((entryText) => {
          const sep = entryText.indexOf(':');
          const ip = entryText.slice(sep + 1);
          return `${ip === 'host-gateway' ? (defaultGateway ?? ip) : ip}\t${entryText.slice(0, sep)}\n`;
        });
        return {
          namespacePath: null,
          hostname,
          hosts: `${hostsText}${hostsText && !hostsText.endsWith('\n') ? '\n' : ''}${extra.join('')}`,
          resolvConf: await renderResolvConf({
            dns: hc.Dns ?? [],
            dnsSearch: hc.DnsSearch ?? [],
            dnsOptions: hc.DnsOptions ?? [],
            hostNetwork: true,
          }),
          env: [],
        };
      }
      const sandboxKey = await this.sandboxes.create(entry.id);
      settings.SandboxKey = sandboxKey;
      settings.SandboxID = randomId();
      try {
        let address: string | undefined;
        let embeddedDns: string | undefined;
        if (primaryName === 'none') {
          await this.recordPseudoEndpoint(entry, this.get('none'), settings);
        } else {
          let index = 0;
          for (const [name, ep] of Object.entries(settings.Networks)) {
            const live = this.byId.get(ep.NetworkID) ?? this.find(name);
            if (!live) throw notFound(`network ${name} not found`);
            if (!this.isBridgeDriver(live))
              throw invalidArgument(`network ${name} cannot be combined with other networks`);
            await this.attachEndpoint(entry, live, ep, sandboxKey, index, index === 0);
            if (index === 0) {
              address = ep.IPAddress;
              if (live.dns) embeddedDns = live.dns.address;
              const publications = publicationsFor({
                portBindings: hc.PortBindings,
                exposedPorts: record.Config.ExposedPorts,
                publishAll: hc.PublishAllPorts === true,
              });
              const mappings =
                publications.length && !live.stored.network.Internal
                  ? await this.opts.driver.publishPorts(live.stored.network.Id, ep.EndpointID, publications)
                  : [];
              settings.Ports = portMapFrom(record.Config.ExposedPorts, mappings);
            }
            index++;
          }
        }
        const links = primaryName === 'bridge' ? this.legacyLinks(entry) : { env: [], hosts: [] };
        return {
          namespacePath: sandboxKey,
          hostname,
          hosts: renderHosts({
            hostname,
            domainname: record.Config.Domainname ?? '',
            address,
            extraHosts: hc.ExtraHosts ?? [],
            hostGateway: defaultGateway,
            links: links.hosts,
          }),
          resolvConf: await renderResolvConf({
            dns: hc.Dns ?? [],
            dnsSearch: hc.DnsSearch ?? [],
            dnsOptions: hc.DnsOptions ?? [],
            embeddedDns,
          }),
          env: links.env,
        };
      } catch (err) {
        await this.detachLocked(entry);
        throw err;
      }
    });
  }

  /** `--link` on the default bridge: the linked containers' environment and hosts entries. */
  private legacyLinks(entry: ContainerEntry): {
    env: string[];
    hosts: Array<{ ip: string; names: string[] }>;
  } {
    const hc = entry.hostConfig as HostConfigInput & { Links?: string[] | null };
    const env: string[] = [];
    const hosts: Array<{ ip: string; names: string[] }> = [];
    const me = entry.name.slice(1);
    for (const link of hc.Links ?? []) {
      const { target, alias } = parseLink(link);
      const other = this.opts.containers().find(target);
      if (!other)
        throw invalidArgument(`could not get container for ${target}: No such container: ${target}`);
      const otherName = other.name.slice(1);
      if (!other.running)
        throw conflict(`Cannot link to a non running container: /${otherName} AS /${me}/${alias}`);
      const ip = other.record.NetworkSettings?.Networks.bridge?.IPAddress;
      if (!ip) throw conflict(`Cannot link to /${otherName}, as it does not belong to the default network`);
      env.push(
        ...linkEnv({
          alias,
          parentName: me,
          ip,
          exposedPorts: other.record.Config.ExposedPorts,
          env: other.record.Config.Env,
        }),
      );
      hosts.push({ ip, names: [...new Set([alias, shortId(other.id), otherName])] });
    }
    // The container's own Env wins over what links define.
    const own = new Set(entry.record.Config.Env.map((e) => e.split('=', 1)[0]));
    return { env: env.filter((e) => !own.has(e.split('=', 1)[0])), hosts };
  }

  private async recordPseudoEndpoint(
    entry: ContainerEntry,
    live: LiveNetwork,
    settings: ContainerNetworkSettings,
  ): Promise<void> {
    const ep = settings.Networks[live.stored.network.Name] ?? emptyEndpointSettings(live.stored.network.Id);
    const endpointId = randomId();
    live.stored.endpoints[endpointId] = {
      id: endpointId,
      containerId: entry.id,
      name: entry.name.slice(1),
      address: '',
      macAddress: '',
      dnsNames: [],
    };
    await this.store.save(live.stored);
    ep.NetworkID = live.stored.network.Id;
    ep.EndpointID = endpointId;
    settings.Networks[live.stored.network.Name] = ep;
  }

  /** `--network container:<ref>`: the other container's sandbox and network files. */
  private async attachToContainer(entry: ContainerEntry, ref: string): Promise<StartNetworking> {
    const other = this.opts.containers().find(ref);
    if (!other) throw notFound(`No such container: ${ref}`);
    if (!other.running) throw conflict(`cannot join network of a non running container: ${other.id}`);
    const otherSettings = other.record.NetworkSettings;
    const otherMode = other.hostConfig.NetworkMode ?? '';
    const hostname = other.record.Config.Hostname ?? '';
    entry.record.Config.Hostname = hostname;
    const read = (path: string) => readFile(path, 'utf8').catch(() => '');
    return {
      namespacePath:
        otherMode === 'host'
          ? null
          : (otherSettings?.SandboxKey ?? null) || `/proc/${other.record.State.Pid}/ns/net`,
      hostname,
      hosts: await read(other.record.HostsPath),
      resolvConf: await read(other.record.ResolvConfPath),
      env: [],
    };
  }

  /** Releases a container's endpoints, ports and sandbox (at stop, exit, rm, or after a crash). */
  async detach(entry: ContainerEntry): Promise<void> {
    await this.lock.run(() => this.detachLocked(entry));
  }

  private async detachLocked(entry: ContainerEntry): Promise<void> {
    // The sandbox goes while the endpoints are released: independent kernel objects, and each
    // step waits on a helper process, so overlapping them takes one wait off the exit path.
    const [endpoints, sandbox] = await Promise.allSettled([
      this.releaseEndpoints(entry),
      this.sandboxes.remove(entry.id),
    ]);
    if (endpoints.status === 'rejected') throw endpoints.reason;
    if (sandbox.status === 'rejected') throw sandbox.reason;
  }

  private async releaseEndpoints(entry: ContainerEntry): Promise<void> {
    const settings = entry.record.NetworkSettings;
    if (settings) {
      const last = new Map<string, number>();
      for (const [name, ep] of Object.entries(settings.Networks)) {
        const ip = parseIp(ep.IPAddress);
        if (ip !== undefined) last.set(ep.NetworkID, ip);
        const live = this.byId.get(ep.NetworkID) ?? this.find(name);
        await this.detachEndpoint(live, ep).catch((err) =>
          this.opts.logger.warn('releasing an endpoint failed', {
            id: entry.id,
            network: name,
            error: String(err),
          }),
        );
      }
      if (last.size) this.lastAddresses.set(entry.id, last);
      clearRuntime(settings);
    }
    // Endpoints of this container the settings no longer mention (a crash between two writes).
    for (const live of this.byId.values()) {
      for (const ep of Object.values(live.stored.endpoints)) {
        if (ep.containerId !== entry.id) continue;
        await this.detachEndpoint(live, {
          ...emptyEndpointSettings(live.stored.network.Id),
          EndpointID: ep.id,
        });
      }
    }
  }

  /** After the containers were restored: releases what non-running containers still hold. */
  async reconcile(): Promise<void> {
    const registry = this.opts.containers();
    await this.lock.run(async () => {
      for (const entry of registry.all()) if (!entry.running) await this.detachLocked(entry);
      const known = new Set(registry.all().map((e) => e.id));
      for (const live of this.byId.values()) {
        for (const ep of Object.values(live.stored.endpoints)) {
          if (!known.has(ep.containerId)) {
            await this.detachEndpoint(live, {
              ...emptyEndpointSettings(live.stored.network.Id),
              EndpointID: ep.id,
            });
          }
        }
      }
      for (const id of await this.sandboxes.list()) {
        if (!registry.find(id)?.running) await this.sandboxes.remove(id);
      }
    });
  }

  /** Daemon shutdown: DNS servers stop, the driver removes its kernel state. */
  async close(): Promise<void> {
    await this.lock.run(async () => {
      for (const live of this.byId.values()) {
        await live.dns?.close().catch(() => {});
        live.dns = null;
      }
      await this.opts.driver.close();
    });
  }
}
