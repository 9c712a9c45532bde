/**
 * Containers' networking: checking a create request, and at start the sandbox, an endpoint on
 * each network, published ports and the network files; at stop, taking all of it back.
 */
import { readFile } from 'node:fs/promises';
import type { ContainerEntry } from '../container/container-entry.js';
import type { HostConfigInput } from '../container/create-config.js';
import { renderHosts, renderResolvConf } from '../container/network-files.js';
import { conflict, invalidArgument, notFound } from '../errors.js';
import { settleAll, shortId } from '../store/index.js';
import { type ContainerEndpoints, settingsOf } from './container-endpoints.js';
import { linkEnv, parseLink } from './links.js';
import type { LiveNetwork } from './live-networks.js';
import {
  containerModeTarget,
  type NetworkContext,
  primaryNetworkName,
  randomId,
  type StartNetworking,
} from './network-context.js';
import { endpointConfigSchema, parseBody } from './network-requests.js';
import { type ContainerNetworkSettings, emptyEndpointSettings } from './network-settings.js';
import {
  type PortBindingsInput,
  portMapFrom,
  publicationsFor,
  validatePortBindings,
} from './port-bindings.js';
import type { Sandboxes } from './sandbox.js';

export class ContainerNetworking {
  constructor(
    private readonly ctx: NetworkContext,
    private readonly endpoints: ContainerEndpoints,
    private readonly sandboxes: Sandboxes,
  ) {}

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
      if (!this.ctx.opts.containers().find(target)) throw notFound(`No such container: ${target}`);
      return settings;
    }
    for (const link of hc.Links ?? []) {
      const spec = parseLink(link);
      if (!this.ctx.opts.containers().find(spec.target))
        throw invalidArgument(
          `could not get container for ${spec.target}: No such container: ${spec.target}`,
        );
    }
    if (mode === 'host' && hc.Links?.length)
      throw invalidArgument(
        "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
      );
    const primary = this.ctx.networks.get(primaryNetworkName(mode));
    const endpoints = networkingConfig?.EndpointsConfig ?? {};
    const configFor = (live: LiveNetwork, key?: string) => {
      const raw = endpoints[key ?? live.stored.network.Name] ?? endpoints[live.stored.network.Id] ?? {};
      return this.endpoints.endpointSettingsFrom(live, parseBody(endpointConfigSchema, raw ?? {}));
    };
    const primaryKey = mode === '' || mode === 'default' ? (endpoints.default ? 'default' : 'bridge') : mode;
    settings.Networks[primary.stored.network.Name] = configFor(primary, primaryKey);
    for (const key of Object.keys(endpoints)) {
      if (key === primaryKey || key === primary.stored.network.Name || key === primary.stored.network.Id)
        continue;
      if (key === 'default' && primary.stored.network.Name === 'bridge') continue;
      const other = this.ctx.networks.get(key);
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
    const settings = settingsOf(entry);
    const target = containerModeTarget(mode);
    if (target !== undefined) return this.attachToContainer(entry, target);

    return this.ctx.lock.run(async () => {
      const hostname = record.Config.Hostname ?? '';
      const primaryName = primaryNetworkName(mode);
      const defaultGateway = this.ctx.networks.byName('bridge')?.stored.network.IPAM.Config[0]?.Gateway;
      if (Object.keys(settings.Networks).length === 0) {
        const primary = this.ctx.networks.get(primaryName);
        settings.Networks[primary.stored.network.Name] = emptyEndpointSettings(primary.stored.network.Id);
      }
      if (primaryName === 'host') {
        const live = this.ctx.networks.get('host');
        await this.endpoints.recordPseudoEndpoint(entry, live, settings);
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
      // The namespace is made while the endpoints are allocated, stored and registered: its
      // helper process and the network store's fsyncs overlap. Nothing joins it before it exists.
      const sandboxMade = this.sandboxes.create(entry.id);
      // Its failure is thrown where it is awaited; this keeps it from counting as unhandled first.
      sandboxMade.catch(() => {});
      const sandboxKey = this.sandboxes.keyFor(entry.id);
      settings.SandboxKey = sandboxKey;
      settings.SandboxID = randomId();
      try {
        let address: string | undefined;
        let embeddedDns: string | undefined;
        if (primaryName === 'none') {
          await this.endpoints.recordPseudoEndpoint(entry, this.ctx.networks.get('none'), settings);
          await sandboxMade;
        } else {
          let index = 0;
          for (const [name, ep] of Object.entries(settings.Networks)) {
            const live = this.ctx.networks.byFullId(ep.NetworkID) ?? this.ctx.networks.find(name);
            if (!live) throw notFound(`network ${name} not found`);
            if (!this.ctx.networks.isBridgeDriver(live))
              throw invalidArgument(`network ${name} cannot be combined with other networks`);
            await this.endpoints.attachEndpoint(entry, live, ep, sandboxMade, index, index === 0);
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
                  ? await this.ctx.opts.driver.publishPorts(
                      live.stored.network.Id,
                      ep.EndpointID,
                      publications,
                    )
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
        // A sandbox still in the making is settled first, so its removal cannot race it.
        await sandboxMade.catch(() => {});
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
      const other = this.ctx.opts.containers().find(target);
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

  /** `--network container:<ref>`: the other container's sandbox and network files. */
  private async attachToContainer(entry: ContainerEntry, ref: string): Promise<StartNetworking> {
    const other = this.ctx.opts.containers().find(ref);
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
    await this.ctx.lock.run(() => this.detachLocked(entry));
  }

  private async detachLocked(entry: ContainerEntry): Promise<void> {
    // The sandbox goes while the endpoints are released: independent kernel objects, and each
    // step waits on a helper process, so overlapping them takes one wait off the exit path.
    await settleAll([this.endpoints.releaseEndpoints(entry), this.sandboxes.remove(entry.id)]);
  }

  /** After the containers were restored: releases what non-running containers still hold. */
  async reconcile(): Promise<void> {
    const registry = this.ctx.opts.containers();
    await this.ctx.lock.run(async () => {
      for (const entry of registry.all()) if (!entry.running) await this.detachLocked(entry);
      const known = new Set(registry.all().map((e) => e.id));
      for (const live of this.ctx.networks.values()) {
        for (const ep of Object.values(live.stored.endpoints)) {
          if (!known.has(ep.containerId)) {
            await this.endpoints.detachEndpoint(live, {
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
}
