/**
 * IPAM, the way Docker's default driver does it: subnets for networks come from the daemon's
 * address pools (`default-address-pools`, or Docker's defaults), skipping every subnet that
 * overlaps a network we have or a route the host has; addresses inside a subnet are handed out
 * in order after the last one given (so a just-released address is not reused at once), never
 * the network address, the gateway or the broadcast address.
 *
 * The allocator holds no state of its own on disk: the network store persists each network's
 * subnet and each endpoint's address, and the allocator is rebuilt from them at start-up.
 */
import { conflict, invalidArgument, unavailable } from '../errors.js';
import {
  contains,
  formatIp,
  formatSubnet,
  overlaps,
  parseIp,
  parseSubnet,
  type Subnet,
  size,
} from './ipv4.js';

export interface AddressPool {
  base: string;
  size: number;
}

/** Docker's defaults (moby `ipamutils`): 172.17–31.0.0/16, then 192.168.0.0/16 in /20s. */
export const DEFAULT_ADDRESS_POOLS: AddressPool[] = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

export function validatePools(pools: AddressPool[]): void {
  for (const pool of pools) {
    const base = parseSubnet(pool.base);
    if (pool.size < base.bits) {
      throw invalidArgument(
        `invalid default-address-pools: pool size ${pool.size} is larger than the base ${pool.base}`,
      );
    }
  }
}

/** The subnets of a pool, in order. */
function* subnetsOf(pool: AddressPool): Generator<Subnet> {
  const base = parseSubnet(pool.base);
  const step = 2 ** (32 - pool.size);
  for (let at = base.base; at < base.base + size(base); at += step) yield { base: at, bits: pool.size };
}

/**
 * Picks the first subnet of the pools that overlaps none of `taken`. `taken` holds the subnets of
 * our networks and the host's routes.
 */
export function allocateSubnet(pools: AddressPool[], taken: Subnet[]): Subnet {
  for (const pool of pools) {
    for (const candidate of subnetsOf(pool)) {
      if (!taken.some((t) => overlaps(t, candidate))) return candidate;
    }
  }
  throw unavailable(
    'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
  );
}

/** The addresses in use in one subnet. */
export class AddressSpace {
  private readonly used = new Set<number>();
  private last: number;

  constructor(
    readonly subnet: Subnet,
    readonly gateway: number,
  ) {
    this.last = gateway;
    this.used.add(gateway);
  }

  get subnetText(): string {
    return formatSubnet(this.subnet);
  }

  private usable(ip: number): boolean {
    const first = this.subnet.base;
    const lastAddr = this.subnet.base + size(this.subnet) - 1;
    // /31 and /32 have no network or broadcast address (RFC 3021); Docker allows neither anyway.
    return ip > first && ip < lastAddr;
  }

  /** Marks an address taken (restoring state, or a user's `--ip`). */
  reserve(ip: number): void {
    if (!contains(this.subnet, ip) || !this.usable(ip)) {
      throw invalidArgument(`no configured subnet contains IP address ${formatIp(ip)}`);
    }
    if (this.used.has(ip)) throw conflict(`Address already in use: ${formatIp(ip)}`);
    this.used.add(ip);
  }

  /** The next free address after the last one handed out, wrapping around. */
  allocate(preferred?: number): number {
    if (
      preferred !== undefined &&
      contains(this.subnet, preferred) &&
      this.usable(preferred) &&
      !this.used.has(preferred)
    ) {
      this.used.add(preferred);
      this.last = preferred;
      return preferred;
    }
    const total = size(this.subnet);
    for (let i = 1; i <= total; i++) {
      const candidate = this.subnet.base + ((this.last - this.subnet.base + i) % total);
      if (this.usable(candidate) && !this.used.has(candidate)) {
        this.used.add(candidate);
        this.last = candidate;
        return candidate;
      }
    }
    throw unavailable(`no available IPv4 addresses on this network's address pools: ${this.subnetText}`);
  }

  release(ip: number): void {
    if (ip !== this.gateway) this.used.delete(ip);
  }

  isUsed(ip: number): boolean {
    return this.used.has(ip);
  }
}

/** A subnet and gateway from `docker network create --subnet/--gateway`, checked like Docker. */
export function parseIpamConfig(
  subnetText: string,
  gatewayText: string | undefined,
): { subnet: Subnet; gateway: number } {
  const subnet = parseSubnet(subnetText);
  if (subnet.bits > 30) throw invalidArgument(`invalid subnet ${subnetText}: it is too small for a network`);
  let gateway = subnet.base + 1;
  if (gatewayText) {
    const gw = parseIp(gatewayText);
    if (gw === undefined) throw invalidArgument(`invalid gateway address ${gatewayText}`);
    if (!contains(subnet, gw)) {
      throw invalidArgument(
        `invalid pool request: gateway address ${gatewayText} does not belong to subnet ${subnetText}`,
      );
    }
    gateway = gw;
  }
  return { subnet, gateway };
}
