/**
 * /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, written into its state dir and
 * bind-mounted over the rootfs, the way Docker writes them (see docs/architecture.md). Until the
 * network issue lands containers have loopback only, so hosts carries no container address.
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
}): string {
  const lines = [...HOSTS_HEADER];
  for (const entry of opts.extraHosts) {
    const sep = entry.lastIndexOf(':');
    if (sep > 0) lines.push(`${entry.slice(sep + 1)}\t${entry.slice(0, sep)}`);
  }
  if (opts.address) {
    const fqdn = opts.domainname ? `${opts.hostname}.${opts.domainname} ${opts.hostname}` : opts.hostname;
    lines.push(`${opts.address}\t${fqdn}`);
  }
  return `${lines.join('\n')}\n`;
}

const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/** Host resolv.conf with loopback nameservers dropped (they mean nothing in another netns). */
export async function renderResolvConf(opts: {
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}): Promise<string> {
  let host = '';
  try {
    host = await readFile('/etc/resolv.conf', 'utf8');
    if (/^\s*nameserver\s+127\.0\.0\.53\s*$/m.test(host)) {
      host = await readFile('/run/systemd/resolve/resolv.conf', 'utf8').catch(() => host);
    }
  } catch {
    host = '';
  }
  const lines = host.split('\n').map((l) => l.trim());
  const nameservers = opts.dns.length
    ? opts.dns
    : lines
        .filter((l) => l.startsWith('nameserver'))
        .map((l) => l.split(/\s+/)[1] ?? '')
        .filter((ns) => ns && !ns.startsWith('127.') && ns !== '::1' && !ns.includes(':'));
  const search = opts.dnsSearch.length
    ? opts.dnsSearch
    : (lines
        .find((l) => l.startsWith('search'))
        ?.split(/\s+/)
        .slice(1) ?? []);
  const options = opts.dnsOptions.length
    ? opts.dnsOptions
    : (lines
        .find((l) => l.startsWith('options'))
        ?.split(/\s+/)
        .slice(1) ?? []);
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
  await writeFileAtomic(paths.hostname, `${content.hostname}\n`, 0o644);
  await writeFileAtomic(paths.hosts, content.hosts, 0o644);
  await writeFileAtomic(paths.resolvConf, content.resolvConf, 0o644);
}
