/**
 * A container's network settings as Docker persists and shows them (`NetworkSettings` in
 * config.v2.json and inspect), plus the port-binding types of HostConfig and the summary's
 * `Ports` list.
 */

export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  GwPriority: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

export interface HostPortBinding {
  HostIp: string;
  HostPort: string;
}

export type PortMap = Record<string, HostPortBinding[] | null>;

export interface ContainerNetworkSettings {
  SandboxID: string;
  SandboxKey: string;
  Ports: PortMap;
  /** By network name, in the order the container joined them. */
  Networks: Record<string, EndpointSettings>;
}

export function emptyEndpointSettings(networkId: string): EndpointSettings {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: '',
    DriverOpts: null,
    GwPriority: 0,
    NetworkID: networkId,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

/** Drops what only exists while the container runs (address, endpoint, sandbox, ports). */
export function clearRuntime(settings: ContainerNetworkSettings): void {
  settings.SandboxID = '';
  settings.SandboxKey = '';
  settings.Ports = {};
  for (const ep of Object.values(settings.Networks)) {
    Object.assign(ep, {
      EndpointID: '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      MacAddress: '',
      DNSNames: null,
    } satisfies Partial<EndpointSettings>);
  }
}

/** `NetworkSettings` for `GET /containers/{id}/json`; the top-level address fields mirror the
 * default bridge's endpoint, as Docker's deprecated fields do. */
export function networkSettingsView(settings: ContainerNetworkSettings | undefined): Record<string, unknown> {
  const s = settings ?? { SandboxID: '', SandboxKey: '', Ports: {}, Networks: {} };
  const bridge = s.Networks.bridge;
  return {
    Bridge: '',
    SandboxID: s.SandboxID,
    SandboxKey: s.SandboxKey,
    Ports: s.Ports,
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: bridge?.MacAddress ?? '',
    Networks: s.Networks,
  };
}

/** The summary's `Ports`: published bindings, then exposed ports without one. */
export function portsSummary(settings: ContainerNetworkSettings | undefined): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [key, bindings] of Object.entries(settings?.Ports ?? {})) {
    const [port, proto] = key.split('/');
    const PrivatePort = Number(port);
    if (!bindings || bindings.length === 0) {
      out.push({ PrivatePort, Type: proto ?? 'tcp' });
      continue;
    }
    for (const b of bindings) {
      out.push({ IP: b.HostIp, PrivatePort, PublicPort: Number(b.HostPort), Type: proto ?? 'tcp' });
    }
  }
  return out;
}

/** The summary's `NetworkSettings.Networks`. */
export function networksSummary(settings: ContainerNetworkSettings | undefined): Record<string, unknown> {
  return { Networks: settings?.Networks ?? {} };
}
