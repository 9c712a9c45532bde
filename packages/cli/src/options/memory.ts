/**
 * Memory sizes for `-m/--memory`, parsed like go-units `RAMInBytes`: a number, an optional
 * space, then `b`, or `k`/`m`/`g`/`t`/`p` optionally followed by `b` or `ib`, case-insensitive,
 * all binary multiples (`512m` = 512 MiB). Fractions are truncated to whole bytes.
 */

const BINARY_MULTIPLIERS: Record<string, number> = {
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

export class SizeParseError extends Error {}

export function parseRamBytes(input: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([^\d. ]*)$/.exec(input);
  if (!match) throw new SizeParseError(`invalid size: '${input}'`);
  const value = Number(match[1]);
  const suffix = (match[2] as string).toLowerCase();
  if (suffix === '' || suffix === 'b') return Math.trunc(value);
  const multiplier = BINARY_MULTIPLIERS[suffix[0] as string];
  const tail = suffix.slice(1);
  if (multiplier === undefined || suffix.length > 3 || !(tail === '' || tail === 'b' || tail === 'ib')) {
    throw new SizeParseError(`invalid suffix: '${suffix}'`);
  }
  return Math.trunc(value * multiplier);
}
