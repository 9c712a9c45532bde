/**
 * `logs --since/--until` values, converted client-side like docker's `timetypes.GetTimestamp`:
 * a Go duration counts back from now (`10m` → whole Unix seconds), an RFC 3339-like date becomes
 * `seconds.nanoseconds`, and a Unix timestamp is passed through as typed.
 */
import { parseGoDuration } from './go-duration.js';

export class TimestampParseError extends Error {}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|[+-]\d{2}:\d{2})?$/i;

function unixWithNanos(epochMs: number, fraction: string): string {
  const seconds = Math.floor(epochMs / 1000);
  const nanos = fraction.padEnd(9, '0');
  return `${seconds}.${nanos}`;
}

export function toApiTimestamp(value: string, now: number = Date.now()): string {
  if (value !== '0') {
    const duration = parseGoDuration(value);
    if (duration !== undefined) return String(Math.floor((now - duration) / 1000));
  }
  const date = DATE_TIME.exec(value);
  if (date) {
    const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = date;
    const hasZone = zone !== undefined;
    // Docker reads a date without a zone in the client's local time zone.
    let epochMs: number;
    if (hasZone) {
      epochMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
      if (zone.toUpperCase() !== 'Z') {
        const offsetMinutes =
          (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * (zone[0] === '-' ? -1 : 1);
        epochMs -= offsetMinutes * 60_000;
      }
    } else {
      epochMs = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime();
    }
    if (Number.isNaN(epochMs)) throw new TimestampParseError(`parsing time "${value}": invalid date`);
    return unixWithNanos(epochMs, frac);
  }
  if (value.includes('-')) throw new TimestampParseError(`parsing time "${value}": cannot parse as RFC 3339`);
  if (/^\d+(?:\.\d{1,9})?$/.test(value)) return value;
  throw new TimestampParseError(`failed to parse value as time or duration: "${value}"`);
}
