/**
 * The host's IPv4 routes (from /proc/net/route) and nameservers: subnets the pools must not hand
 * out, or containers would shadow the host's own networks (Docker checks the same).
 */
import { readFile } from 'node:fs/promises';
import { nameserversOf, readHostResolvConf } from '../container/network-files.js';
import { parseIp, type Subnet } from './ipv4.js';

/** /proc/net/route prints addresses as little-endian hex. */
function fromHexLe(hex: string): number {
  const n = Number.parseInt(hex, 16);
  return (
    (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | ((n >>> 24) & 0xff)) >>> 0
  );
}

function bitsOf(mask: number): number {
  let bits = 0;
  for (let m = mask; m & 0x80000000; m = (m << 1) >>> 0) bits++;
  return bits;
}

/** Every non-default route's destination, except those on `ignoreInterfaces` (our own bridges). */
export async function hostRouteSubnets(ignoreInterfaces: Set<string>): Promise<Subnet[]> {
  let text = '';
  try {
    text = await readFile('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const out: Subnet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (!iface || !dest || !mask || ignoreInterfaces.has(iface)) continue;
    const bits = bitsOf(fromHexLe(mask));
    if (bits === 0) continue;
    out.push({ base: fromHexLe(dest), bits });
  }
  return out;
}

/** The host's IPv4 nameservers as /32s. */
export async function hostNameserverSubnets(): Promise<Subnet[]> {
  return nameserversOf(await readHostResolvConf())
    .map(parseIp)
    .filter((ip): ip is number => ip !== undefined)
    .map((base) => ({ base, bits: 32 }));
}
