/**
 * Every test daemon gets networking of its own: a default bridge, subnets, veth names and
 * iptables chains unique to it, so daemons run side by side and cleanup can go by name. The
 * host's ip_forward is left alone (`ip-forward: false`): no test sends traffic off the machine.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface NetworkNames {
  tag: string;
  /** The default bridge's interface name. */
  bridge: string;
  /** Prefix shared by every interface the daemon makes (bridges and veths). */
  linkPrefixes: string[];
  chainPrefix: string;
  /** `10.X` of the daemon's 10.X.0.0/16. */
  net16: string;
  config: Record<string, unknown>;
}

/** Second octets of 10.X.0.0/16 that a host route already touches. */
function takenTenDotOctets(): Set<number> {
  const taken = new Set<number>();
  const lines = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const [, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (!dest || !mask || mask === '00000000') continue;
    // Little-endian hex: the low byte is the first octet.
    const d = Number.parseInt(dest, 16);
    const m = Number.parseInt(mask, 16);
    if ((d & 0xff) !== 10 || (m & 0xff) !== 0xff) continue;
    if (((m >>> 8) & 0xff) === 0) for (let i = 0; i < 256; i++) taken.add(i);
    else taken.add((d >>> 8) & 0xff);
  }
  // The host's resolvers must stay reachable.
  for (const line of readFileSync('/etc/resolv.conf', 'utf8').split('\n')) {
    const m = /^\s*nameserver\s+10\.(\d+)\./.exec(line);
    if (m) taken.add(Number(m[1]));
  }
  return taken;
}

export function isolatedNetworkNames(): NetworkNames {
  const tag = randomBytes(2).toString('hex');
  const taken = takenTenDotOctets();
  let octet = 0;
  for (let i = 0; i < 500; i++) {
    const candidate = 16 + Math.floor(Math.random() * 224);
    if (!taken.has(candidate)) {
      octet = candidate;
      break;
    }
  }
  if (!octet) throw new Error('no free 10.X.0.0/16 for a test daemon');
  const chainPrefix = `TSD${tag.toUpperCase()}`;
  return {
    tag,
    bridge: `tsd${tag}0`,
    linkPrefixes: [`tsd${tag}`, `tsv${tag}`],
    chainPrefix,
    net16: `10.${octet}`,
    config: {
      bridge: `tsd${tag}0`,
      bip: `10.${octet}.0.1/24`,
      'default-address-pools': [{ base: `10.${octet}.0.0/16`, size: 24 }],
      'network-opts': [`chain-prefix=${chainPrefix}`, `bridge-prefix=tsd${tag}-`, `veth-prefix=tsv${tag}`],
      'ip-forward': false,
    },
  };
}

/** Interfaces whose names start with one of the daemon's prefixes. */
export function leftoverLinks(names: NetworkNames): string[] {
  const out = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => names.linkPrefixes.some((p) => n.startsWith(p)));
}

/** iptables-save lines that mention the daemon's chains or interfaces. */
export function leftoverRules(names: NetworkNames): string[] {
  const out = spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .filter((l) => l.includes(names.chainPrefix) || names.linkPrefixes.some((p) => l.includes(p)));
}

/** Removes by name whatever a crashed daemon left: interfaces, jumps and chains. */
export function removeNetworkLeftovers(names: NetworkNames): void {
  for (const link of leftoverLinks(names)) spawnSync('ip', ['link', 'del', link]);
  for (const table of ['filter', 'nat']) {
    const rules = spawnSync('iptables', ['-w', '-t', table, '-S'], { encoding: 'utf8' }).stdout.split('\n');
    for (const rule of rules) {
      const m = /^-A (\S+) (.*)$/.exec(rule);
      if (m && !m[1]!.startsWith(names.chainPrefix) && rule.includes(names.chainPrefix)) {
        spawnSync('sh', ['-c', `iptables -w -t ${table} -D ${m[1]} ${m[2]}`]);
      }
    }
    const chains = rules
      .map((r) => /^-N (\S+)$/.exec(r)?.[1])
      .filter((c): c is string => !!c && c.startsWith(names.chainPrefix));
    for (const chain of chains) spawnSync('iptables', ['-w', '-t', table, '-F', chain]);
    for (const chain of chains) spawnSync('iptables', ['-w', '-t', table, '-X', chain]);
  }
}
