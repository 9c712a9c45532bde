/**
 * The registry of live networks: each stored network with its address space, DNS server and
 * interface, and Docker's lookups by id, name and id prefix.
 */
import { notFound } from '../errors.js';
import { generateId, IdIndex } from '../store/index.js';
import type { DnsServer } from './dns-server.js';
import { hostNameserverSubnets, hostRouteSubnets } from './host-routes.js';
import type { AddressSpace } from './ipam.js';
import { parseSubnet, type Subnet } from './ipv4.js';
import type { NetworksOptions } from './network-context.js';
import type { NetworkRecord, StoredNetwork } from './network-store.js';

export interface LiveNetwork {
  stored: StoredNetwork;
  space: AddressSpace | null;
  dns: DnsServer | null;
  interfaceName?: string;
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);

export class LiveNetworks {
  private readonly byId = new Map<string, LiveNetwork>();
  private readonly ids = new IdIndex();

  /** `driver`'s networks get kernel state; `bridgeName` is ours even before it is up. */
  constructor(private readonly opts: Pick<NetworksOptions, 'driver' | 'bridgeName'>) {}

  add(live: LiveNetwork): void {
    this.byId.set(live.stored.network.Id, live);
    this.ids.add(live.stored.network.Id);
  }

  drop(id: string): void {
    this.byId.delete(id);
    this.ids.delete(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** By full id only. */
  byFullId(id: string): LiveNetwork | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<LiveNetwork> {
    return this.byId.values();
  }

  byName(name: string): LiveNetwork | undefined {
    for (const live of this.byId.values()) if (live.stored.network.Name === name) return live;
    return undefined;
  }

  /** Docker's lookup order: full id, exact name, then a unique id prefix. */
  find(ref: string): LiveNetwork | undefined {
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

  get(ref: string): LiveNetwork {
    const live = this.find(ref);
    if (!live) throw notFound(`network ${ref} not found`);
    return live;
  }

  isBridgeDriver(live: LiveNetwork): boolean {
    return live.stored.network.Driver === this.opts.driver.name;
  }

  isUserDefined(live: LiveNetwork): boolean {
    return !PREDEFINED.has(live.stored.network.Name);
  }

  subnetsInUse(except?: string): Subnet[] {
    const out: Subnet[] = [];
    for (const live of this.byId.values()) {
      if (live.stored.network.Id === except) continue;
      for (const c of live.stored.network.IPAM.Config) out.push(parseSubnet(c.Subnet));
    }
    return out;
  }

  /** Subnets a new network must avoid: ours, and the host's routes and nameservers. */
  async takenSubnets(): Promise<Subnet[]> {
    const ours = new Set([...this.byId.values()].map((l) => l.interfaceName).filter((n): n is string => !!n));
    ours.add(this.opts.bridgeName);
    return [...this.subnetsInUse(), ...(await hostRouteSubnets(ours)), ...(await hostNameserverSubnets())];
  }
}

/** A new network's record with Docker's defaults for every field not given. */
export function newNetworkRecord(
  name: string,
  driver: string,
  fields: Partial<NetworkRecord> = {},
): NetworkRecord {
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
