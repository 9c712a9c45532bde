/**
 * Times as Docker writes and reads them: Go's RFC3339Nano (trailing zeros of the fraction
 * dropped), Unix seconds, and the timestamps `--filter until=` accepts.
 */
import { invalidArgument } from '../errors.js';
import { nowNanos, parseNanos } from '../logs/log-time.js';
import { parseGoDuration } from './go-duration.js';

/** Go's zero time, which Docker shows for "never" (`Metadata.LastTagTime`). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

const NS_PER_SECOND = 1_000_000_000n;

/** Go's `time.RFC3339Nano` in UTC: `2026-11-27T19:30:06.863752022Z`, `…:06.5Z`, `…:06Z`. */
export function formatRfc3339Nano(ns: bigint): string {
  const seconds = ns / NS_PER_SECOND - (ns % NS_PER_SECOND < 0n ? 1n : 0n);
  const frac = ns - seconds * NS_PER_SECOND;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const digits = frac.toString().padStart(9, '0').replace(/0+$/, '');
  return digits ? `${base}.${digits}Z` : `${base}Z`;
}

/** Now, as an RFC3339Nano UTC string. */
export function nowRfc3339Nano(): string {
  return formatRfc3339Nano(nowNanos());
}

/** Unix seconds (rounded down, as Go's `Time.Unix`). */
export function unixSeconds(ns: bigint): number {
  const s = ns / NS_PER_SECOND;
  return Number(ns % NS_PER_SECOND < 0n ? s - 1n : s);
}

/** A stored RFC 3339 time in the form Docker prints it (UTC values normalised like Go). */
export function displayTime(value: string): string {
  const ns = parseNanos(value);
  return ns !== null && value.endsWith('Z') ? formatRfc3339Nano(ns) : value;
}

/**
 * A filter timestamp (docker's `GetTimestamp`): a Go duration before now (`10m`), an RFC 3339
 * time or date (local time when no zone is given), or Unix seconds (`1700000000.5`).
 */
export function parseFilterTimestamp(value: string, nowNs: bigint = nowNanos()): bigint {
  if (value !== '0' && /^[-+]?(\d*\.?\d*[a-z\u00b5\u03bc]+)+$/.test(value)) {
    try {
      return nowNs - BigInt(parseGoDuration(value));
    } catch {
      // not a duration: try the other forms
    }
  }
  if (value.includes('-')) {
    const withZone = /[zZ]|[+-]\d{2}:\d{2}$/.test(value.slice(10));
    const m =
      /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2}))?(?::(\d{2}))?(?:\.(\d{1,9}))?)?([zZ]|[+-]\d{2}:\d{2})?$/.exec(
        value,
      );
    if (!m) throw invalidArgument(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
    const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
    const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}`;
    const ms = withZone && zone ? Date.parse(`${iso}${zone.toUpperCase()}`) : new Date(`${iso}`).getTime();
    if (Number.isNaN(ms))
      throw invalidArgument(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
    return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  }
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (!unix) throw invalidArgument(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  return BigInt(unix[1] as string) * NS_PER_SECOND + BigInt((unix[2] ?? '').padEnd(9, '0') || '0');
}
