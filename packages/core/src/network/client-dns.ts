/**
 * Embedded-DNS name resolution for clients: which networks a client address may see, the names
 * on them, and the upstream servers its container asked for.
 */
import type { ContainerEntry } from '../container/container-entry.js';
import { contains, parseIp } from './ipv4.js';
import type { LiveNetwork, LiveNetworks } from './live-networks.js';
import type { NetworksOptions } from './network-context.js';

export class ClientDns {
  constructor(
    private readonly networks: LiveNetworks,
    private readonly opts: Pick<NetworksOptions, 'containers'>,
    /** The host's nameservers, for containers that set no `--dns` of their own. */
    private readonly hostNameservers: string[],
  ) {}

  /** Networks a client address belongs to (its container's user-defined networks). */
  private networksOfClient(client: string, fallback: string): LiveNetwork[] {
    for (const live of this.networks.values()) {
      for (const ep of Object.values(live.stored.endpoints)) {
        if (ep.address.split('/')[0] !== client) continue;
        return [...this.networks.values()].filter(
          (l) =>
            this.networks.isUserDefined(l) &&
            Object.values(l.stored.endpoints).some((e) => e.containerId === ep.containerId),
        );
      }
    }
    const own = this.networks.byFullId(fallback);
    return own ? [own] : [];
  }

  private containerOfClient(client: string): ContainerEntry | undefined {
    for (const live of this.networks.values()) {
      for (const ep of Object.values(live.stored.endpoints)) {
        if (ep.address.split('/')[0] === client) return this.opts.containers().find(ep.containerId);
      }
    }
    return undefined;
  }

  /** The resolver the DNS server of network `networkId` answers with. */
  resolverFor(networkId: string) {
    return {
      allowed: (client: string): boolean => {
        const subnet = this.networks.byFullId(networkId)?.space?.subnet;
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
}
