/**
 * /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, written into its state dir and
 * bind-mounted over the rootfs, the way Docker writes them (see docs/architecture.md): the
 * container's own address and hostname, `--add-host` entries and legacy links in hosts; the
 * host's resolvers, `--dns*`, or the network's embedded DNS server in resolv.conf.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../store/index.js';

const HOSTS_HEADER = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::\tip6-localnet',
  'ff00::\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

export function renderHosts(opts: {
  hostname: string;
  domainname: string;
  address?: string;
  extraHosts: string[];
  /** `--add-host x:host-gateway` becomes this address (the default bridge's gateway). */
  hostGateway?: string;
  /** Legacy links: `<ip>\t<alias> <id12> <name>` lines. */
  links?: Array<{ ip: string; names: string[] }>;
}): string {
  const lines = [...HOSTS_HEADER];
  for (const entry of opts.extraHosts) {
    const sep = entry.indexOf(':');
    if (sep <= 0) continue;
    let ip = entry.slice(sep + 1);
    if (ip === 'host-gateway' && opts.hostGateway) ip = opts.hostGateway;
    lines.push(`${ip}\t${entry.slice(0, sep)}`);
  }
  for (const link of opts.links ?? []) lines.push(`${link.ip}\t${link.names.join(' ')}`);
  if (opts.address) {
    const fqdn = opts.domainname ? `${opts.hostname}.${opts.domainname} ${opts.hostname}` : opts.hostname;
    lines.push(`${opts.address}\t${fqdn}`);
  }
  return `${lines.join('\n')}\n`;
}

const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/** The host's resolv.conf, or systemd-resolved's upstream file when the host uses its stub. */
export async function readHostResolvConf(): Promise<string> {
  try {
    const host = await readFile('/etc/resolv.conf', 'utf8');
    if (/^\s*nameserver\s+127\.0\.0\.53\s*$/m.test(host)) {
      return await readFile('/run/systemd/resolve/resolv.conf', 'utf8').catch(() => host);
    }
    return host;
  } catch {
    return '';
  }
}

/** The `nameserver` addresses of a resolv.conf text. */
export function nameserversOf(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('nameserver'))
    .map((l) => l.split(/\s+/)[1] ?? '')
    .filter(Boolean);
}

/**
 * Host resolv.conf with loopback nameservers dropped (they mean nothing in another netns). With
 * `embeddedDns` (user-defined networks) the only nameserver is the network's DNS server and
 * `ndots:0` is added unless an ndots option is given, as Docker does for 127.0.0.11. With
 * `hostNetwork` the host's servers are kept as they are (same namespace).
 */
export async function renderResolvConf(opts: {
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  embeddedDns?: string;
  hostNetwork?: boolean;
}): Promise<string> {
  const host = await readHostResolvConf();
  const lines = host.split('\n').map((l) => l.trim());
  const nameservers = opts.embeddedDns
    ? [opts.embeddedDns]
    : opts.dns.length
      ? opts.dns
      : nameserversOf(host).filter(
          (ns) => opts.hostNetwork || (!ns.startsWith('127.') && ns !== '::1' && !ns.includes(':')),
        );
  const search = opts.dnsSearch.length
    ? opts.dnsSearch
    : (lines
        .find((l) => l.startsWith('search'))
        ?.split(/\s+/)
        .slice(1) ?? []);
  const options = opts.dnsOptions.length
    ? [...opts.dnsOptions]
    : (lines
        .find((l) => l.startsWith('options'))
        ?.split(/\s+/)
        .slice(1) ?? []);
  if (opts.embeddedDns && !options.some((o) => o.startsWith('ndots:'))) options.push('ndots:0');
  const out: string[] = [];
  if (search.length) out.push(`search ${search.join(' ')}`);
  for (const ns of nameservers.length ? nameservers : DEFAULT_NAMESERVERS) out.push(`nameserver ${ns}`);
  if (options.length) out.push(`options ${options.join(' ')}`);
  return `${out.join('\n')}\n`;
}

export async function writeNetworkFiles(
  paths: { hostname: string; hosts: string; resolvConf: string },
  content: {
    hostname: string;
    hosts: string;
    resolvConf: string;
  },
): Promise<void> {
  // Rewritten at every start, so never worth an fsync (moby does not sync them either).
  const notDurable = { durable: false };
  await Promise.all([
    writeFileAtomic(paths.hostname, `${content.hostname}\n`, 0o644, notDurable),
    writeFileAtomic(paths.hosts, content.hosts, 0o644, notDurable),
    writeFileAtomic(paths.resolvConf, content.resolvConf, 0o644, notDurable),
  ]);
}
