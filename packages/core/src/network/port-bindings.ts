/**
 * HostConfig.PortBindings / PublishAllPorts / Config.ExposedPorts → the publications a driver
 * makes, and the drivers' results back into Docker's `NetworkSettings.Ports` map.
 */
import type { PortBindingRequest, PortMapping, PortProtocol } from '../drivers/network-driver.js';
import { invalidArgument } from '../errors.js';
import { parseIp } from './ipv4.js';
import type { PortMap } from './network-settings.js';

export type PortBindingsInput = Record<
  string,
  Array<{ HostIp?: string | null; HostPort?: string | null }> | null
>;

/** `8080/tcp` → port and protocol; Docker's `Invalid port specification` otherwise. */
export function parsePortKey(key: string): { port: number; protocol: PortProtocol } {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(key);
  const port = m ? Number(m[1]) : Number.NaN;
  if (!m || port < 1 || port > 65535) throw invalidArgument(`invalid port specification: "${key}"`);
  const protocol = (m[2]?.toLowerCase() ?? 'tcp') as string;
  if (protocol === 'sctp')
    throw invalidArgument(`invalid port specification: "${key}": sctp is not supported`);
  return { port, protocol: protocol as PortProtocol };
}

/** A binding's HostPort: empty (any free port), a port, or a range (its first free port). */
function parseHostPort(text: string, key: string): { hostPort: number; hostPortEnd?: number } {
  if (text === '') return { hostPort: 0 };
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const start = m ? Number(m[1]) : Number.NaN;
  const end = m?.[2] === undefined ? start : Number(m[2]);
  if (!m || start < 1 || end > 65535 || end < start)
    throw invalidArgument(`invalid hostPort: ${text} (for ${key})`);
  return end === start ? { hostPort: start } : { hostPort: start, hostPortEnd: end };
}

/** Checks the bindings at create time (so `run` fails before anything is made). */
export function validatePortBindings(bindings: PortBindingsInput | null | undefined): void {
  for (const [key, list] of Object.entries(bindings ?? {})) {
    parsePortKey(key);
    for (const b of list ?? []) {
      const ip = b.HostIp ?? '';
      if (ip !== '' && parseIp(ip) === undefined) {
        throw invalidArgument(
          `invalid IP address: ${ip}${ip.includes(':') ? ' (IPv6 is not supported yet)' : ''}`,
        );
      }
      parseHostPort(b.HostPort ?? '', key);
    }
  }
}

/** What to publish for a container: its bindings, plus every exposed port with `-P`. */
export function publicationsFor(opts: {
  portBindings: PortBindingsInput | null | undefined;
  exposedPorts: Record<string, unknown> | null | undefined;
  publishAll: boolean;
}): Array<PortBindingRequest & { key: string }> {
  const out: Array<PortBindingRequest & { key: string }> = [];
  const bound = new Set<string>();
  for (const [key, list] of Object.entries(opts.portBindings ?? {})) {
    const { port, protocol } = parsePortKey(key);
    const normal = `${port}/${protocol}`;
    for (const b of list ?? []) {
      bound.add(normal);
      out.push({
        key: normal,
        protocol,
        containerPort: port,
        hostIp: b.HostIp || '0.0.0.0',
        ...parseHostPort(b.HostPort ?? '', key),
      });
    }
  }
  if (opts.publishAll) {
    for (const key of Object.keys(opts.exposedPorts ?? {})) {
      const { port, protocol } = parsePortKey(key);
      const normal = `${port}/${protocol}`;
      if (bound.has(normal)) continue;
      bound.add(normal);
      out.push({ key: normal, protocol, containerPort: port, hostIp: '0.0.0.0', hostPort: 0 });
    }
  }
  return out;
}

/** Docker's Ports map: every exposed or published port, null when it has no binding. */
export function portMapFrom(
  exposedPorts: Record<string, unknown> | null | undefined,
  mappings: PortMapping[],
): PortMap {
  const map: PortMap = {};
  for (const key of Object.keys(exposedPorts ?? {})) {
    const { port, protocol } = parsePortKey(key);
    map[`${port}/${protocol}`] = null;
  }
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    const list = map[key] ?? [];
    list.push({ HostIp: m.hostIp, HostPort: String(m.hostPort) });
    map[key] = list;
  }
  return map;
}
