/** Bringing a network up (kernel state, IPAM, embedded DNS) and down again. */
import { invalidArgument } from '../errors.js';
import type { ClientDns } from './client-dns.js';
import { DnsServer } from './dns-server.js';
import { AddressSpace } from './ipam.js';
import { parseCidr, parseIp, parseSubnet } from './ipv4.js';
import type { LiveNetwork } from './live-networks.js';
import type { NetworkContext } from './network-context.js';

/** Kernel state and IPAM for a bridge-driver network; DNS for user-defined ones. */
export async function bringUp(ctx: NetworkContext, dns: ClientDns, live: LiveNetwork): Promise<void> {
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
  const info = await ctx.opts.driver.createNetwork({
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
  if (ctx.networks.isUserDefined(live)) {
    const server = new DnsServer(cfg.Gateway, dns.resolverFor(net.Id), ctx.opts.logger);
    try {
      await server.start();
      live.dns = server;
    } catch (err) {
      ctx.opts.logger.warn('embedded DNS server could not start; containers use the host resolvers', {
        network: net.Name,
        error: String(err),
      });
    }
  }
}

export async function bringDown(ctx: NetworkContext, live: LiveNetwork): Promise<void> {
  await live.dns?.close().catch(() => {});
  live.dns = null;
  if (ctx.networks.isBridgeDriver(live)) await ctx.opts.driver.deleteNetwork(live.stored.network.Id);
}
