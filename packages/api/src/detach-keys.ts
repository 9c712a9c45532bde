/**
 * Detach keys (default Ctrl-P Ctrl-Q). Like moby, the daemon watches a TTY attachment's stdin for
 * the sequence and detaches when it completes, so clients that don't intercept it themselves
 * (dockerode, scripts) can still detach without stopping the container.
 */
import { invalidArgument } from './http-status.js';

const DEFAULT_DETACH_KEYS = Buffer.from([0x10, 0x11]); // ctrl-p, ctrl-q

const namedKeys = new Map<string, number>([
  ['ctrl-@', 0],
  ['ctrl-[', 27],
  ['ctrl-\\', 28],
  ['ctrl-]', 29],
  ['ctrl-^', 30],
  ['ctrl-_', 31],
]);
for (let code = 1; code <= 26; code++) namedKeys.set(`ctrl-${String.fromCharCode(96 + code)}`, code);

/** Parses `ctrl-p,ctrl-q`-style keys (moby's `term.ToBytes`); empty means the default sequence. */
export function parseDetachKeys(spec: string): Buffer {
  if (spec === '') return DEFAULT_DETACH_KEYS;
  const codes: number[] = [];
  for (const key of spec.split(',')) {
    if (key.length === 1) {
      codes.push(key.charCodeAt(0));
      continue;
    }
    const code = namedKeys.get(key.toLowerCase());
    if (code === undefined) throw invalidArgument(`Invalid detach keys (${spec}) provided`);
    codes.push(code);
  }
  return Buffer.from(codes);
}

/**
 * Scans stdin for the detach sequence across chunk boundaries. Bytes that turn out not to be
 * part of the sequence are forwarded late but in order; the sequence itself never reaches the
 * process.
 */
export class DetachKeyScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** Returns the bytes to forward, and whether the sequence just completed. */
  push(chunk: Buffer): { forward: Buffer; detached: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return { forward: Buffer.from(out), detached: true };
        }
        continue;
      }
      // A partial match that failed: release what was held back, then reconsider this byte.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i] ?? 0);
      this.matched = 0;
      if (byte === this.keys[0]) {
        this.matched = 1;
        if (this.keys.length === 1) return { forward: Buffer.from(out), detached: true };
      } else {
        out.push(byte);
      }
    }
    return { forward: Buffer.from(out), detached: false };
  }
}
