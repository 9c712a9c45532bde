/**
 * The three predefined networks: `host`, `none`, and `bridge` (the default bridge, named by the
 * `bridge` setting, subnet from `bip` or the pools). Made at the first start; the default bridge
 * is rewritten when `bip` or `bridge` changed.
 */
import { invalidArgument } from '../errors.js';
import { allocateSubnet, DEFAULT_ADDRESS_POOLS } from './ipam.js';
import { formatIp, formatSubnet, overlaps, parseCidr, parseSubnet } from './ipv4.js';
import { newNetworkRecord } from './live-networks.js';
import type { NetworkContext } from './network-context.js';

export async function ensurePredefined(ctx: NetworkContext): Promise<void> {
  const { opts, networks, store } = ctx;
  for (const [name, driver] of [
    ['host', 'host'],
    ['none', 'null'],
  ] as const) {
    if (networks.byName(name)) continue;
    const stored = { network: newNetworkRecord(name, driver), endpoints: {} };
    await store.save(stored);
    networks.add({ stored, space: null, dns: null });
  }
  const options = {
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.enable_icc': 'true',
    'com.docker.network.bridge.enable_ip_masquerade': 'true',
    'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    'com.docker.network.bridge.name': opts.bridgeName,
    'com.docker.network.driver.mtu': '1500',
  };
  let wanted: { Subnet: string; Gateway: string } | undefined;
  if (opts.bip) {
    const parsed = parseCidr(opts.bip);
    if (!parsed || parsed.ip === parsed.subnet.base)
      throw invalidArgument(
        `invalid bip ${opts.bip}: expected the bridge's address with a prefix, e.g. 172.30.0.1/16`,
      );
    wanted = { Subnet: formatSubnet(parsed.subnet), Gateway: formatIp(parsed.ip) };
  }
  const existing = networks.byName('bridge');
  if (existing) {
    const net = existing.stored.network;
    const current = net.IPAM.Config[0];
    const changed =
      (wanted && (current?.Subnet !== wanted.Subnet || current?.Gateway !== wanted.Gateway)) ||
      net.Options['com.docker.network.bridge.name'] !== opts.bridgeName;
    if (!changed) return;
    if (wanted) net.IPAM.Config = [wanted];
    net.Options = options;
    existing.stored.endpoints = {};
    await store.save(existing.stored);
    return;
  }
  if (!wanted) {
    const subnet = allocateSubnet(opts.pools ?? DEFAULT_ADDRESS_POOLS, await networks.takenSubnets());
    wanted = { Subnet: formatSubnet(subnet), Gateway: formatIp(subnet.base + 1) };
  } else {
    const subnet = parseSubnet(wanted.Subnet);
    if (networks.subnetsInUse().some((s) => overlaps(s, subnet)))
      throw invalidArgument(`bip ${opts.bip} overlaps a network of this daemon`);
  }
  const stored = {
    network: newNetworkRecord('bridge', opts.driver.name, {
      IPAM: { Driver: 'default', Options: null, Config: [wanted] },
      Options: options,
    }),
    endpoints: {},
  };
  await store.save(stored);
  networks.add({ stored, space: null, dns: null });
}
