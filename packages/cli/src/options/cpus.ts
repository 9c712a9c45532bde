/**
 * `--cpus 1.5` → `NanoCpus: 1500000000`, exactly like docker's `opts.ParseCPUs` (a rational number
 * times 1e9 that must come out whole): decimal arithmetic on the digits, never floating point.
 */

export class CpusParseError extends Error {}

const NANO_DIGITS = 9;

export function parseNanoCpus(input: string): number {
  const match = /^\+?(\d*)(?:\.(\d*))?$/.exec(input.trim());
  if (!match || (match[1] === '' && (match[2] ?? '') === '')) {
    throw new CpusParseError(`failed to parse ${input} as a rational number`);
  }
  const whole = match[1] || '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > NANO_DIGITS) throw new CpusParseError('value is too precise');
  const nanos = BigInt(whole) * 10n ** BigInt(NANO_DIGITS) + BigInt(fraction.padEnd(NANO_DIGITS, '0') || '0');
  if (nanos > BigInt(Number.MAX_SAFE_INTEGER)) throw new CpusParseError(`value ${input} is too large`);
  return Number(nanos);
}
