/**
 * The detach key sequence (default Ctrl-P Ctrl-Q), caught client-side in TTY mode like moby's
 * `term.EscapeProxy`: keys typed one per read are held back while they match the sequence; a
 * complete match detaches, anything else releases the held keys in front of the new input.
 */

export const DEFAULT_DETACH_KEYS = Buffer.from([16, 17]);

/** Parses docker's `--detach-keys` syntax: comma-separated `a`-style keys or `ctrl-<key>`. */
export function parseDetachKeys(spec: string): Buffer {
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) {
      bytes.push(k.charCodeAt(0));
      continue;
    }
    const ctrl = /^ctrl-(.)$/i.exec(k);
    if (!ctrl) throw new Error(`Unknown character: '${k}'`);
    const c = (ctrl[1] as string).toLowerCase();
    if (c >= 'a' && c <= 'z') bytes.push(c.charCodeAt(0) - 96);
    else if (c === '@') bytes.push(0);
    else if ('[\\]^_'.includes(c)) bytes.push(27 + '[\\]^_'.indexOf(c));
    else throw new Error(`Unknown character: '${k}'`);
  }
  return Buffer.from(bytes);
}

export class DetachKeyDetector {
  private readonly keys: Buffer;
  private matched = 0;

  constructor(keys: Buffer = DEFAULT_DETACH_KEYS) {
    this.keys = keys;
  }

  /** Returns the bytes to forward, or `detach: true` when the sequence completed. */
  feed(chunk: Buffer): { data: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { data: chunk, detach: false };
    if (chunk.length === 1 && chunk[0] === this.keys[this.matched]) {
      if (this.matched === this.keys.length - 1) {
        this.matched = 0;
        return { data: Buffer.alloc(0), detach: true };
      }
      this.matched++;
      return { data: Buffer.alloc(0), detach: false };
    }
    const held = this.keys.subarray(0, this.matched);
    this.matched = 0;
    return { data: held.length > 0 ? Buffer.concat([held, chunk]) : chunk, detach: false };
  }
}
