/** Docker's log timestamps: RFC 3339 with exactly 9 fractional digits (`…05.123456789Z`). */

let lastNs = 0n;

/** Nanoseconds since the epoch, strictly increasing within this process. */
export function nowNanos(): bigint {
  const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  lastNs = ns > lastNs ? ns : lastNs + 1n;
  return lastNs;
}

export function formatNanos(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${base}.${frac}Z`;
}

/** Parses an RFC 3339 timestamp with up to 9 fractional digits to nanoseconds. */
export function parseNanos(ts: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Unix seconds (possibly fractional, as `seconds.nanoseconds`) to nanoseconds. */
export function secondsToNanos(s: number | string): bigint {
  const text = typeof s === 'number' ? s.toFixed(9) : s;
  const [whole = '0', frac = ''] = text.split('.');
  return BigInt(whole) * 1_000_000_000n + BigInt(frac.slice(0, 9).padEnd(9, '0') || '0');
}
