/**
 * The bridge network driver: each network is a Linux bridge holding the gateway address; each
 * endpoint a veth pair whose container end is created directly inside the sandbox (named `eth0`,
 * `eth1`, …) and whose host end is enslaved to the bridge. Forwarding, isolation and NAT are
 * iptables rules in chains of our own (firewall.ts); published ports get a userland proxy
 * (port-proxy.ts) and, for non-loopback addresses, a DNAT rule.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import {
  conflict,
  type EndpointConfig,
  internal,
  invalidArgument,
  type JoinOptions,
  type LeaveOptions,
  type Logger,
  type NetworkConfig,
  type NetworkDriver,
  type NetworkInfo,
  notFound,
  type PortBindingRequest,
  type PortMapping,
} from '@tsdocker/core';
import { Firewall, networkRules, portRules, type Rule } from './firewall.js';
import type { BridgeOptions } from './options.js';
import { PortInUseError, type PortProxy, startProxy } from './port-proxy.js';
import { CommandError, ip, isGone, run, startIp } from './run.js';

const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
const MAX_IFNAME = 15;

interface BridgeNetwork {
  config: NetworkConfig;
  bridge: string;
  rules: Rule[];
}

interface Endpoint {
  networkId: string;
  config: EndpointConfig;
  hostVeth?: string;
  proxies: PortProxy[];
  rules: Rule[];
}

function detail(err: unknown): string {
  return err instanceof CommandError ? err.stderr : err instanceof Error ? err.message : String(err);
}

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  private readonly networks = new Map<string, BridgeNetwork>();
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly firewall: Firewall | null;
  /** Host veths still being deleted (see `leave`), by network. */
  private readonly vethDeletions = new Map<string, Set<Promise<void>>>();

  private constructor(
    private readonly opts: BridgeOptions,
    private readonly logger: Logger,
  ) {
    this.firewall = opts.iptables ? new Firewall(opts.chainPrefix, opts.userlandProxy) : null;
  }

  static async open(opts: BridgeOptions, logger: Logger): Promise<BridgeDriver> {
    const driver = new BridgeDriver(opts, logger);
    if (opts.ipForward) await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
    await driver.firewall?.init();
    return driver;
  }

  bridgeNameFor(config: NetworkConfig): string {
    const given = config.options[BRIDGE_NAME_OPTION];
    if (given) return given;
    return `${this.opts.bridgePrefix}${config.id.slice(0, MAX_IFNAME - this.opts.bridgePrefix.length)}`;
  }

  private async linkKind(name: string): Promise<string | null> {
    try {
      const out = await run('ip', ['-d', '-j', 'link', 'show', 'dev', name]);
      const [link] = JSON.parse(out) as Array<{ linkinfo?: { info_kind?: string } }>;
      return link?.linkinfo?.info_kind ?? 'device';
    } catch {
      return null;
    }
  }

  async createNetwork(config: NetworkConfig): Promise<NetworkInfo> {
    const bridge = this.bridgeNameFor(config);
    if (bridge.length > MAX_IFNAME || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(bridge))
      throw invalidArgument(`invalid bridge name "${bridge}"`);
    const prefixLen = config.subnet.split('/')[1];
    const kind = await this.linkKind(bridge);
    if (kind !== null && kind !== 'bridge')
      throw conflict(`cannot create bridge ${bridge}: an interface of type ${kind} has that name`);
    try {
      const lines = kind === null ? [`link add name ${bridge} mtu ${this.opts.mtu} type bridge`] : [];
      // `replace` also adopts a bridge an earlier run left behind.
      lines.push(`addr replace ${config.gateway}/${prefixLen} dev ${bridge}`, `link set ${bridge} up`);
      await ip(lines);
      if (!this.opts.userlandProxy)
        await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1').catch(() => {});
      const rules = this.firewall ? networkRules(this.firewall, bridge, config.subnet, config.internal) : [];
      if (this.firewall) await this.firewall.add(rules);
      this.networks.set(config.id, { config, bridge, rules });
    } catch (err) {
      await ip([`link del ${bridge}`]).catch(() => {});
      throw internal(`failed to create network ${config.name}: bridge ${bridge}: ${detail(err)}`, err);
    }
    return { interfaceName: bridge, options: config.isDefault ? {} : { [BRIDGE_NAME_OPTION]: bridge } };
  }

  async deleteNetwork(networkId: string): Promise<void> {
    const net = this.networks.get(networkId);
    if (!net) return;
    for (const [id, ep] of this.endpoints)
      if (ep.networkId === networkId) await this.deleteEndpoint(networkId, id);
    await this.vethsDeleted(networkId);
    await this.firewall?.remove(net.rules);
    await ip([`link del ${net.bridge}`]).catch((err) => {
      if (!isGone(err)) throw internal(`failed to remove bridge ${net.bridge}: ${detail(err)}`, err);
    });
    this.networks.delete(networkId);
  }

  async createEndpoint(networkId: string, endpoint: EndpointConfig): Promise<void> {
    if (!this.networks.has(networkId)) throw notFound(`network ${networkId} not found`);
    this.endpoints.set(endpoint.id, { networkId, config: endpoint, proxies: [], rules: [] });
  }

  async deleteEndpoint(_networkId: string, endpointId: string): Promise<void> {
    const ep = this.endpoints.get(endpointId);
    if (!ep) return;
    await this.unpublishPorts(ep.networkId, endpointId);
    await this.leave(ep.networkId, endpointId);
    this.endpoints.delete(endpointId);
  }

  async join(networkId: string, endpointId: string, options: JoinOptions): Promise<void> {
    const net = this.networks.get(networkId);
    const ep = this.endpoints.get(endpointId);
    if (!net || !ep) throw notFound(`endpoint ${endpointId} not found on network ${networkId}`);
    // An address given back a moment ago (`--ip`) may still sit on a veth being deleted.
    await this.vethsDeleted(networkId);
    const hostVeth = `${this.opts.vethPrefix}${randomBytes(8).toString('hex')}`.slice(0, MAX_IFNAME);
    const inside = options.interfaceName;
    // The container end is born inside the sandbox: nothing half-made is ever on the host.
    const onHost = ip([
      `link add name ${hostVeth} mtu ${this.opts.mtu} type veth peer name ${inside} mtu ${this.opts.mtu} netns ${options.sandboxKey}`,
      `link set ${hostVeth} master ${net.bridge}`,
      `link set ${hostVeth} up`,
    ]);
    // The `ip` that configures the container end starts while the host's runs and waits for its
    // commands: its fork and two execs overlap the host's `ip` instead of following it.
    const inSandbox = startIp(options.sandboxKey);
    try {
      await onHost;
      ep.hostVeth = hostVeth;
      const lines = [
        `link set ${inside} address ${ep.config.macAddress}`,
        `addr add ${ep.config.address} dev ${inside}`,
        `link set ${inside} up`,
      ];
      if (options.defaultGateway) lines.push(`route add default via ${options.defaultGateway} dev ${inside}`);
      await inSandbox.run(lines);
    } catch (err) {
      await inSandbox.cancel();
      await ip([`link del ${hostVeth}`]).catch(() => {});
      ep.hostVeth = undefined;
      throw internal(`failed to join endpoint to sandbox ${options.sandboxKey}: ${detail(err)}`, err);
    }
  }

  /**
   * Deletes the endpoint's veth pair. When the container has stopped (`sandboxGoing`) that
   * finishes in the background: deleting a network device waits for the kernel's RCU barrier,
   * 15-35 ms on this kind of host, on the path of every `docker run --rm`, and nothing needs the
   * pair afterwards. Its names are random, its address is only handed out again in turn (or to
   * an explicit `--ip`, whose join waits for the deletions on its network), and a network is
   * removed, and the driver closed, only after its deletions are done. A disconnect from a
   * running container waits: the interface is gone from the container when it returns.
   */
  async leave(networkId: string, endpointId: string, options: LeaveOptions = {}): Promise<void> {
    const ep = this.endpoints.get(endpointId);
    if (!ep?.hostVeth) return;
    const veth = ep.hostVeth;
    ep.hostVeth = undefined;
    const pending = this.vethDeletions.get(networkId) ?? new Set<Promise<void>>();
    this.vethDeletions.set(networkId, pending);
    const deletion: Promise<void> = ip([`link del ${veth}`]).then(
      () => {},
      (err) => {
        if (!isGone(err)) this.logger.warn('removing a veth failed', { veth, error: detail(err) });
      },
    );
    pending.add(deletion);
    void deletion.then(() => {
      pending.delete(deletion);
      if (pending.size === 0 && this.vethDeletions.get(networkId) === pending)
        this.vethDeletions.delete(networkId);
    });
    if (!options.sandboxGoing) await deletion;
  }

  /** Settles once every veth deletion started so far on `networkId` is over. */
  private async vethsDeleted(networkId: string): Promise<void> {
    const pending = this.vethDeletions.get(networkId);
    if (pending) await Promise.all(pending);
  }

  async publishPorts(
    networkId: string,
    endpointId: string,
    bindings: PortBindingRequest[],
  ): Promise<PortMapping[]> {
    const net = this.networks.get(networkId);
    const ep = this.endpoints.get(endpointId);
    if (!net || !ep) throw notFound(`endpoint ${endpointId} not found on network ${networkId}`);
    const containerIp = ep.config.address.split('/')[0] ?? '';
    const mappings: PortMapping[] = [];
    try {
      for (const b of bindings) {
        const proxy = await this.holdHostPort(b, containerIp);
        ep.proxies.push(proxy);
        const { hostPortEnd: _range, ...binding } = b;
        const mapping: PortMapping = { ...binding, hostPort: proxy.port, containerIp };
        if (this.firewall) {
          const rules = portRules(this.firewall, net.bridge, mapping, this.opts.userlandProxy);
          await this.firewall.add(rules);
          ep.rules.push(...rules);
        }
        mappings.push(mapping);
      }
    } catch (err) {
      await this.unpublishPorts(networkId, endpointId);
      throw conflict(
        `driver failed programming external connectivity on endpoint ${ep.config.containerId.slice(0, 12)}: ${detail(err)}`,
        err,
      );
    }
    return mappings;
  }

  /** The host port's proxy; a range takes its first port nobody holds, as Docker does. */
  private async holdHostPort(b: PortBindingRequest, containerIp: string): Promise<PortProxy> {
    const last = b.hostPort === 0 ? 0 : Math.max(b.hostPort, b.hostPortEnd ?? b.hostPort);
    for (let port = b.hostPort; ; port++) {
      try {
        return await startProxy({
          protocol: b.protocol,
          hostIp: b.hostIp,
          hostPort: port,
          containerIp,
          containerPort: b.containerPort,
          relay: this.opts.userlandProxy || b.hostIp.startsWith('127.'),
        });
      } catch (err) {
        if (!(err instanceof PortInUseError) || port >= last) throw err;
      }
    }
  }

  async unpublishPorts(_networkId: string, endpointId: string): Promise<void> {
    const ep = this.endpoints.get(endpointId);
    if (!ep) return;
    const proxies = ep.proxies.splice(0);
    const rules = ep.rules.splice(0);
    await Promise.all(proxies.map((p) => p.close()));
    await this.firewall?.remove(rules);
  }

  async close(): Promise<void> {
    for (const id of [...this.networks.keys()]) {
      await this.deleteNetwork(id).catch((err) =>
        this.logger.warn('removing a network failed', { id, error: detail(err) }),
      );
    }
    await this.firewall?.teardown();
  }
}
