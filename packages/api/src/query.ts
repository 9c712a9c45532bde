/**
 * Query-string parsing with moby's semantics (`httputils.BoolValue`, `Uint32Value`, …). The CLI
 * encodes with Go's `url.Values` (`+` for space, repeated keys for lists); URLSearchParams decodes
 * both. Every parser that can fail throws an invalid-argument error naming the parameter.
 */
import { invalidArgument } from './http-status.js';

const FALSE_WORDS = new Set(['', '0', 'no', 'false', 'none']);

export class Query {
  private readonly params: URLSearchParams;

  constructor(search: string) {
    this.params = new URLSearchParams(search);
  }

  has(key: string): boolean {
    return this.params.has(key);
  }

  /** The first value, or '' when absent (Go's `Form.Get`). */
  string(key: string): string {
    return this.params.get(key) ?? '';
  }

  /** The first value, or undefined when absent or empty. */
  optionalString(key: string): string | undefined {
    const value = this.params.get(key);
    return value === null || value === '' ? undefined : value;
  }

  /** Every value of a repeated key, in order. */
  all(key: string): string[] {
    return this.params.getAll(key);
  }

  /** False for absent, empty, `0`, `no`, `false`, `none` (any case, trimmed); true for anything else. */
  bool(key: string): boolean {
    return !FALSE_WORDS.has(this.string(key).trim().toLowerCase());
  }

  /** Like `bool`, but `fallback` when the key is absent altogether. */
  boolOr(key: string, fallback: boolean): boolean {
    return this.params.has(key) ? this.bool(key) : fallback;
  }

  /** A decimal integer (sign allowed), or undefined when absent/empty. */
  optionalInt(key: string): number | undefined {
    const raw = this.string(key);
    if (raw === '') return undefined;
    if (!/^[+-]?\d+$/.test(raw))
      throw invalidArgument(`invalid value for ${key}: ${quote(raw)} is not an integer`);
    const value = Number(raw);
    if (!Number.isSafeInteger(value))
      throw invalidArgument(`invalid value for ${key}: ${quote(raw)} is out of range`);
    return value;
  }

  /** A required unsigned 32-bit integer, as moby's `Uint32Value` (used for TTY sizes). */
  uint32(key: string, what: string): number {
    const raw = this.string(key);
    const failure = (reason: string) => invalidArgument(`${what} ${quote(raw)}: ${reason}`);
    const digits = raw.startsWith('-') ? raw.slice(1) : raw;
    if (!/^\d+$/.test(digits)) throw failure('invalid syntax');
    const value = Number(digits);
    if (raw.startsWith('-') || value > 0xffff_ffff) throw failure('value out of range');
    return value;
  }
}

/** Go's `%q` for the strings we echo back in messages. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/**
 * A `seconds[.fraction]` Unix timestamp (`docker logs --since` sends `1704067200.000000000`).
 * Empty means `fallback`. Returns fractional seconds.
 */
export function parseUnixTimestamp(raw: string, key: string, fallback = 0): number {
  if (raw === '') return fallback;
  const match = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(raw);
  if (!match)
    throw invalidArgument(
      `invalid value for ${key}: ${quote(raw)} is not a Unix timestamp (seconds[.nanoseconds])`,
    );
  const seconds = Number(match[1]);
  const fraction = match[2] ? Number(`0.${match[2]}`) : 0;
  if (!Number.isSafeInteger(seconds))
    throw invalidArgument(`invalid value for ${key}: ${quote(raw)} is out of range`);
  return seconds < 0 ? seconds - fraction : seconds + fraction;
}

/** `tail`: `all`, empty or anything unparsable means all lines (moby falls back the same way). */
export function parseTail(raw: string): number | 'all' {
  if (!/^\d+$/.test(raw)) return 'all';
  const lines = Number(raw);
  return Number.isSafeInteger(lines) ? lines : 'all';
}

/**
 * `os[/arch[/variant]]` as sent on create, pull and import. Only the syntax is checked here;
 * whether the platform can run is the daemon's call.
 */
export function parsePlatformString(raw: string): string | undefined {
  if (raw === '') return undefined;
  const parts = raw.split('/');
  if (parts.length > 3 || parts.some((part) => !/^[A-Za-z0-9_.-]+$/.test(part))) {
    throw invalidArgument(`${quote(raw)}: unknown operating system or architecture: invalid argument`);
  }
  return raw.toLowerCase();
}

/**
 * The JSON OCI platform object sent by `image inspect --platform` and save/load
 * (`{"architecture":"arm64","os":"linux"}`), with moby's validation messages.
 */
export function parsePlatformJson(
  raw: string,
): { os: string; architecture: string; variant?: string } | undefined {
  if (raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalidArgument(`failed to parse platform: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidArgument('failed to parse platform: expected a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  const field = (name: string): string => {
    const value = record[name];
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string')
      throw invalidArgument(`failed to parse platform: ${name} must be a string`);
    return value;
  };
  const os = field('os');
  const architecture = field('architecture');
  const variant = field('variant');
  if (os === '' || architecture === '') {
    if (os === '' && architecture === '' && variant !== '') {
      throw invalidArgument('optional platform fields provided, but OS and Architecture are missing');
    }
    throw invalidArgument('both OS and Architecture must be provided');
  }
  return variant === '' ? { os, architecture } : { os, architecture, variant };
}
