/**
 * The bridge driver's options: the daemon passes daemon.json's `iptables`, `ip-forward` and
 * `userland-proxy`, plus `network-opts` entries (`key=value`) for names of what the driver makes.
 * Tests give every daemon its own prefixes so that several can run side by side.
 */
import { invalidArgument } from '@tsdocker/core';

export interface BridgeOptions {
  /** Program iptables (NAT for published ports and outbound traffic, forwarding, isolation). */
  iptables: boolean;
  /** Turn on `net.ipv4.ip_forward` (needed for traffic leaving the host), as dockerd does. */
  ipForward: boolean;
  /** Serve published ports with a userland proxy in the daemon (always for 127.0.0.1). */
  userlandProxy: boolean;
  /** Prefix of our iptables chains: `TSDOCKER`, `TSDOCKER-ISOLATION`, … */
  chainPrefix: string;
  /** Prefix of user-defined networks' bridge names (`br-` + the network id, 15 chars). */
  bridgePrefix: string;
  /** Prefix of the host ends of veth pairs. */
  vethPrefix: string;
  /** MTU of bridges and veths. */
  mtu: number;
}

const DEFAULTS: BridgeOptions = {
  iptables: true,
  ipForward: true,
  userlandProxy: true,
  chainPrefix: 'TSDOCKER',
  bridgePrefix: 'br-',
  vethPrefix: 'veth',
  mtu: 1500,
};

function bool(value: unknown, key: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalidArgument(`invalid value for network option ${key}: ${String(value)} (expected true or false)`);
}

function prefix(value: unknown, key: string, max: number, pattern: RegExp): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !pattern.test(value)) {
    throw invalidArgument(
      `invalid value for network option ${key}: ${String(value)} (at most ${max} characters of ${pattern.source})`,
    );
  }
  return value;
}

export function parseBridgeOptions(raw: unknown): BridgeOptions {
  if (raw === undefined || raw === null) return { ...DEFAULTS };
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalidArgument('bridge driver options must be an object');
  const out = { ...DEFAULTS };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    switch (key) {
      case 'iptables':
        out.iptables = bool(value, key);
        break;
      case 'ip-forward':
        out.ipForward = bool(value, key);
        break;
      case 'userland-proxy':
        out.userlandProxy = bool(value, key);
        break;
      case 'chain-prefix':
        out.chainPrefix = prefix(value, key, 16, /^[A-Za-z0-9_-]+$/);
        break;
      case 'bridge-prefix':
        out.bridgePrefix = prefix(value, key, 9, /^[a-zA-Z0-9_.-]+$/);
        break;
      case 'veth-prefix':
        out.vethPrefix = prefix(value, key, 9, /^[a-zA-Z0-9_.-]+$/);
        break;
      case 'mtu': {
        const mtu = Number(value);
        if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
          throw invalidArgument(`invalid value for network option mtu: ${String(value)}`);
        out.mtu = mtu;
        break;
      }
      default:
        throw invalidArgument(
          `unknown bridge network option "${key}" (known: iptables, ip-forward, userland-proxy, chain-prefix, bridge-prefix, veth-prefix, mtu)`,
        );
    }
  }
  return out;
}
