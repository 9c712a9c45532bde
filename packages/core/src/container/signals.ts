/** Signal names and numbers as Docker accepts them: `KILL`, `SIGKILL` and `9` alike. */
import { constants } from 'node:os';
import { invalidArgument } from '../errors.js';

const SIGNALS = constants.signals as Record<string, number>;

/** Returns the signal number; throws Docker's 400 `Invalid signal: X`. */
export function parseSignal(input: string | number): number {
  if (typeof input === 'number') {
    if (Number.isInteger(input) && input > 0 && input <= 64) return input;
    throw invalidArgument(`Invalid signal: ${input}`);
  }
  const s = input.trim();
  if (/^\d+$/.test(s)) return parseSignal(Number(s));
  const upper = s.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const base = name.startsWith('SIGRTMIN') ? 34 : 64;
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('SIGRTMIN') ? base + off : base - off;
    if (n >= 34 && n <= 64) return n;
  }
  const num = SIGNALS[name];
  if (num === undefined) throw invalidArgument(`Invalid signal: ${input}`);
  return num;
}

export function signalName(num: number): string {
  for (const [name, n] of Object.entries(SIGNALS)) if (n === num) return name;
  return String(num);
}
