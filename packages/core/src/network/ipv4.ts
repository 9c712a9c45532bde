/** IPv4 addresses and subnets as numbers: parsing with Docker's messages, formatting, overlap. */
import { invalidArgument } from '../errors.js';

export interface Subnet {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  /** Prefix length, 0–32. */
  bits: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export function size(subnet: Subnet): number {
  return 2 ** (32 - subnet.bits);
}

/** `a.b.c.d/n` → the address and its prefix (the address may have host bits set). */
export function parseCidr(text: string): { ip: number; subnet: Subnet } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > 32) return undefined;
  return { ip, subnet: { base: (ip & maskOf(bits)) >>> 0, bits } };
}

/** A subnet given by a user: Docker refuses host bits (`invalid subnet …`). */
export function parseSubnet(text: string): Subnet {
  const parsed = parseCidr(text);
  if (!parsed) throw invalidArgument(`invalid CIDR address: ${text}`);
  if (parsed.ip !== parsed.subnet.base) {
    throw invalidArgument(`invalid subnet ${text}: it should be ${formatSubnet(parsed.subnet)}`);
  }
  return parsed.subnet;
}

export function formatSubnet(subnet: Subnet): string {
  return `${formatIp(subnet.base)}/${subnet.bits}`;
}

export function contains(subnet: Subnet, ip: number): boolean {
  return (ip & maskOf(subnet.bits)) >>> 0 === subnet.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & maskOf(bits)) >>> 0 === (b.base & maskOf(bits)) >>> 0;
}

/** Docker's container MAC: 02:42 followed by the IPv4 address. */
export function macForIp(ip: number): string {
  const bytes = [0x02, 0x42, ...[24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
