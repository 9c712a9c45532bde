/** Go's `time.ParseDuration`, used by HEALTHCHECK flags and time filters (`10m`, `1h30m`, `1.5s`). */
import { invalidArgument } from '../errors.js';

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Nanoseconds, with Go's error messages. */
export function parseGoDuration(s: string): number {
  const quoted = JSON.stringify(s);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalidArgument(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(rest) as RegExpExecArray;
    const whole = num[1] ?? '';
    const frac = num[2] ?? '';
    if (whole === '' && frac === '') throw invalidArgument(`time: invalid duration ${quoted}`);
    rest = rest.slice(num[0].length);
    const unitText = (/^[^\d.]*/.exec(rest) as RegExpExecArray)[0];
    if (unitText === '') throw invalidArgument(`time: missing unit in duration ${quoted}`);
    const unit = GO_DURATION_UNITS[unitText];
    if (unit === undefined)
      throw invalidArgument(`time: unknown unit ${JSON.stringify(unitText)} in duration ${quoted}`);
    total += Number(`${whole || '0'}.${frac || '0'}`) * unit;
    rest = rest.slice(unitText.length);
  }
  return Math.round(sign * total);
}
