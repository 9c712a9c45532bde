/**
 * Content digests (`sha256:<64 hex>`), validated before they are used in a path or a lookup
 * (CVE-2014-9358, CVE-2024-3727: never build a path from an unvalidated digest string).
 */
import { createHash } from 'node:crypto';
import { invalidArgument } from '../errors.js';

/** A validated `sha256:<64 lowercase hex>` string. */
export type Digest = `sha256:${string}`;

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const HEX64 = /^[a-f0-9]{64}$/;
const DIGEST_SYNTAX = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Encoded lengths of the algorithms moby links in (go-digest's `Available()`). */
const ALGORITHM_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export function isSha256Digest(value: unknown): value is Digest {
  return typeof value === 'string' && SHA256_DIGEST.test(value);
}

export function isHex64(value: string): boolean {
  return HEX64.test(value);
}

/** The digest of `data`. */
export function sha256Digest(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a `sha256:` digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/**
 * Why `value` is not a valid digest (go-digest's `Validate` wording), or null when it is one.
 * Accepts every algorithm moby knows (sha256, sha384, sha512).
 */
export function digestProblem(value: string): string | null {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon + 1 === value.length) return 'invalid checksum digest format';
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  const length = ALGORITHM_HEX_LENGTH[algorithm];
  if (length === undefined) {
    return DIGEST_SYNTAX.test(value) ? 'unsupported digest algorithm' : 'invalid checksum digest format';
  }
  if (encoded.length !== length) return 'invalid checksum digest length';
  if (!/^[a-f0-9]+$/.test(encoded)) return 'invalid checksum digest format';
  return null;
}

/** Parses a digest in any algorithm moby knows; throws invalid-argument with go-digest's words. */
export function parseDigest(value: string): string {
  const problem = digestProblem(value);
  if (problem) throw invalidArgument(problem);
  return value;
}
