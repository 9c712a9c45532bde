/**
 * Containers' endpoints: the settings a client asked for, and allocating, creating and joining
 * an endpoint, and taking it back. Every change is written to the store before it is reported.
 * Callers hold the networks' lock.
 */
import type { ContainerEntry } from '../container/container-entry.js';
import type { LeaveOptions } from '../drivers/network-driver.js';
import { conflict, invalidArgument, notFound } from '../errors.js';
import { shortId } from '../store/index.js';
import { formatIp, macForIp, parseCidr, parseIp, parseSubnet } from './ipv4.js';
import type { LiveNetwork } from './live-networks.js';
import { type NetworkContext, randomId } from './network-context.js';
import type { EndpointConfigInput } from './network-requests.js';
import {
  type ContainerNetworkSettings,
  clearRuntime,
  type EndpointSettings,
  emptyEndpointSettings,
} from './network-settings.js';
import type { EndpointRecord } from './network-store.js';

/** The container's network settings, made empty if it has none yet. */
export function settingsOf(entry: ContainerEntry): ContainerNetworkSettings {
  entry.record.NetworkSettings ??= { SandboxID: '', SandboxKey: '', Ports: {}, Networks: {} };
  return entry.record.NetworkSettings;
}

export class ContainerEndpoints {
  /** Each stopped container's last address per network, offered to it again at its next start. */
  private readonly lastAddresses = new Map<string, Map<string, number>>();

  constructor(private readonly ctx: NetworkContext) {}

  /** The endpoint settings a client asked for, checked against the network; nothing allocated. */
  endpointSettingsFrom(live: LiveNetwork, raw: EndpointConfigInput): EndpointSettings {
    const ep = emptyEndpointSettings(live.stored.network.Id);
    const aliases = raw.Aliases?.filter(Boolean) ?? [];
    if (aliases.length && !this.ctx.networks.isUserDefined(live))
      throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
    const ipv4 = raw.IPAMConfig?.IPv4Address;
    if (ipv4) {
      if (!this.ctx.networks.isUserDefined(live))
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
   * Allocates, creates and joins one endpoint; records it (store first, then settings). The
   * sandbox may still be in the making (its key comes when it exists): everything up to the
   * join overlaps it.
   */
  async attachEndpoint(
    entry: ContainerEntry,
    live: LiveNetwork,
    ep: EndpointSettings,
    sandbox: string | Promise<string>,
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
    const userDefined = this.ctx.networks.isUserDefined(live);
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
      await this.ctx.store.save(live.stored);
      await this.ctx.opts.driver.createEndpoint(net.Id, {
        id: endpointId,
        containerId: entry.id,
        address: cidr,
        macAddress: mac,
      });
      const sandboxKey = await sandbox;
      await this.ctx.opts.driver.join(net.Id, endpointId, {
        sandboxKey,
        interfaceName: `eth${index}`,
        ...(gatewayEndpoint && !net.Internal ? { defaultGateway: net.IPAM.Config[0]?.Gateway ?? '' } : {}),
      });
    } catch (err) {
      await this.ctx.opts.driver.leave(net.Id, endpointId).catch(() => {});
      await this.ctx.opts.driver.deleteEndpoint(net.Id, endpointId).catch(() => {});
      delete live.stored.endpoints[endpointId];
      space.release(ip);
      await this.ctx.store.save(live.stored).catch(() => {});
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
  /** `sandboxGoing`: the container has stopped and its sandbox goes too (see LeaveOptions). */
  async detachEndpoint(
    live: LiveNetwork | undefined,
    ep: EndpointSettings,
    options: LeaveOptions = {},
  ): Promise<void> {
    const endpointId = ep.EndpointID;
    if (!live || !endpointId) return;
    const record = live.stored.endpoints[endpointId];
    if (this.ctx.networks.isBridgeDriver(live)) {
      await this.ctx.opts.driver.unpublishPorts(live.stored.network.Id, endpointId).catch((err) =>
        this.ctx.opts.logger.warn('unpublishing ports failed', {
          endpoint: endpointId,
          error: String(err),
        }),
      );
      await this.ctx.opts.driver.leave(live.stored.network.Id, endpointId, options).catch(() => {});
      await this.ctx.opts.driver.deleteEndpoint(live.stored.network.Id, endpointId).catch(() => {});
    }
    if (record) {
      const ip = parseCidr(record.address)?.ip;
      if (ip !== undefined) live.space?.release(ip);
      delete live.stored.endpoints[endpointId];
      await this.ctx.store.save(live.stored);
    }
  }

  /** `host` and `none`: an endpoint without an address, so the network lists the container. */
  async recordPseudoEndpoint(
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
    await this.ctx.store.save(live.stored);
    ep.NetworkID = live.stored.network.Id;
    ep.EndpointID = endpointId;
    settings.Networks[live.stored.network.Name] = ep;
  }

  /** Takes back every endpoint of a container and remembers its addresses for its next start. */
  async releaseEndpoints(entry: ContainerEntry): Promise<void> {
    const settings = entry.record.NetworkSettings;
    if (settings) {
      const last = new Map<string, number>();
      for (const [name, ep] of Object.entries(settings.Networks)) {
        const ip = parseIp(ep.IPAddress);
        if (ip !== undefined) last.set(ep.NetworkID, ip);
        const live = this.ctx.networks.byFullId(ep.NetworkID) ?? this.ctx.networks.find(name);
        await this.detachEndpoint(live, ep, { sandboxGoing: true }).catch((err) =>
          this.ctx.opts.logger.warn('releasing an endpoint failed', {
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
    for (const live of this.ctx.networks.values()) {
      for (const ep of Object.values(live.stored.endpoints)) {
        if (ep.containerId !== entry.id) continue;
        await this.detachEndpoint(
          live,
          { ...emptyEndpointSettings(live.stored.network.Id), EndpointID: ep.id },
          { sandboxGoing: true },
        );
      }
    }
  }
}
