/**
 * Image references with the semantics and messages of Docker's `distribution/reference`:
 * `busybox` is `docker.io/library/busybox`, shown back in familiar form (`busybox:latest`,
 * `myrepo/bb:v1`, `localhost:5000/x:latest`); tags, digests (`name@sha256:…`) and image ids
 * (`sha256:<64 hex>` or bare 64 hex).
 */
import { invalidArgument } from '../errors.js';
import { digestProblem } from './digest.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** distribution's NameTotalLengthMax. */
const NAME_TOTAL_LENGTH_MAX = 255;
/** Far above any valid reference (name 255 + tag 128 + a sha512 digest); bounds regex work. */
const MAX_REFERENCE_LENGTH = 1024;

// The grammar of distribution/reference's regexp.go, piece by piece.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePattern = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRegexp = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRegexp = new RegExp(`^${tagPattern}$`);
const anchoredIdentifierRegexp = /^[a-f0-9]{64}$/;

/** A reference with a repository name, and optionally a tag and/or a digest. */
export interface NamedReference {
  readonly kind: 'named';
  /** Registry host[:port]; empty only for references parsed without normalisation. */
  readonly domain: string;
  /** Repository path below the domain (`library/busybox`). */
  readonly path: string;
  readonly tag: string | null;
  readonly digest: string | null;
}

/** A bare digest (an image id) without a name. */
export interface DigestReference {
  readonly kind: 'digest';
  readonly digest: string;
}

export type AnyReference = NamedReference | DigestReference;

/** The repository name (`docker.io/library/busybox`). */
export function refName(ref: NamedReference): string {
  return ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
}

/** The full normalised string (`docker.io/library/busybox:latest`). */
export function refString(ref: AnyReference): string {
  if (ref.kind === 'digest') return ref.digest;
  return `${refName(ref)}${ref.tag !== null ? `:${ref.tag}` : ''}${ref.digest !== null ? `@${ref.digest}` : ''}`;
}

/** The short name Docker shows: `busybox`, `myrepo/bb`, `localhost:5000/x`. */
export function familiarName(ref: NamedReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return refName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** The familiar form with tag and digest (`busybox:latest`, `bb@sha256:…`). */
export function familiarString(ref: AnyReference): string {
  if (ref.kind === 'digest') return ref.digest;
  return `${familiarName(ref)}${ref.tag !== null ? `:${ref.tag}` : ''}${ref.digest !== null ? `@${ref.digest}` : ''}`;
}

/** Adds the `latest` tag to a reference that has neither tag nor digest. */
export function tagNameOnly(ref: NamedReference): NamedReference {
  return ref.tag === null && ref.digest === null ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** The same repository without tag or digest. */
export function trimNamed(ref: NamedReference): NamedReference {
  return { ...ref, tag: null, digest: null };
}

/** Replaces the tag (keeping a digest, as distribution's `WithTag` does). */
export function withTag(ref: NamedReference, tag: string): NamedReference {
  if (!anchoredTagRegexp.test(tag)) throw invalidArgument('invalid tag format');
  return { ...ref, tag };
}

/** `Parse`: the grammar alone, no normalisation (a name without a domain keeps domain ''). */
export function parseReference(s: string): AnyReference {
  if (s.length > MAX_REFERENCE_LENGTH) throw invalidArgument('invalid reference format');
  const m = referenceRegexp.exec(s);
  if (!m) {
    if (s === '') throw invalidArgument('repository name must have at least one component');
    if (referenceRegexp.test(s.toLowerCase())) throw invalidArgument('repository name must be lowercase');
    throw invalidArgument('invalid reference format');
  }
  const name = m[1] ?? '';
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalidArgument(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const nameMatch = anchoredNameRegexp.exec(name);
  const domain = nameMatch?.[1] ?? '';
  const path = nameMatch ? (nameMatch[2] ?? '') : name;
  const digest = m[3] ?? null;
  if (digest !== null) {
    const problem = digestProblem(digest);
    if (problem) throw invalidArgument(problem);
  }
  if (name === '') {
    if (digest !== null) return { kind: 'digest', digest };
    throw invalidArgument('repository name must have at least one component');
  }
  return { kind: 'named', domain, path, tag: m[2] ?? null, digest };
}

/** distribution's splitDockerDomain: the first component is a registry if it looks like a host. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * `ParseNormalizedNamed`: a name as a user types it (`busybox`, `myrepo/bb:v1`,
 * `localhost:5000/x@sha256:…`) to its fully qualified form. Throws invalid-argument with Docker's
 * messages.
 */
export function parseNormalizedNamed(s: string): NamedReference {
  if (anchoredIdentifierRegexp.test(s)) {
    throw invalidArgument(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  if (s.length > MAX_REFERENCE_LENGTH) throw invalidArgument('invalid reference format');
  const { domain, remainder } = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon > -1 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalidArgument(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  const ref = parseReference(`${domain}/${remainder}`);
  if (ref.kind !== 'named') throw invalidArgument(`reference ${refString(ref)} has no name`);
  return ref;
}

/**
 * `ParseAnyReference`: a bare 64-hex id or a valid digest becomes a digest reference; anything
 * else must be a name.
 */
export function parseAnyReference(s: string): AnyReference {
  if (anchoredIdentifierRegexp.test(s)) return { kind: 'digest', digest: `sha256:${s}` };
  if (digestProblem(s) === null) return { kind: 'digest', digest: s };
  return parseNormalizedNamed(s);
}

/**
 * moby's `RepoTagReference` (used by import and tag): `repo` may carry a tag; an explicit `tag`
 * replaces it; neither gives `latest`. An empty `repo` means "no reference". Digests refused.
 */
export function repoTagReference(repo: string, tag?: string): NamedReference | null {
  if (repo === '') return null;
  const ref = parseNormalizedNamed(repo);
  if (ref.digest !== null) throw invalidArgument('cannot import digest reference');
  if (tag) return withTag(ref, tag);
  return tagNameOnly(ref);
}

/** Translates Go's `path.Match` glob syntax to an anchored regular expression. */
function globToRegExp(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) throw invalidArgument('syntax error in pattern');
      out += escapeRegExp(pattern[i] as string);
    } else if (c === '[') {
      const close = findClassEnd(pattern, i);
      let body = pattern.slice(i + 1, close);
      let negate = '';
      if (body.startsWith('^')) {
        negate = '^';
        body = body.slice(1);
      }
      if (body === '') throw invalidArgument('syntax error in pattern');
      // A class never matches '/' in path.Match.
      out += `(?!/)[${negate}${classBody(body)}]`;
      i = close;
    } else out += escapeRegExp(c);
  }
  return new RegExp(`${out}$`, 's');
}

function findClassEnd(pattern: string, open: number): number {
  for (let j = open + 1; j < pattern.length; j++) {
    const c = pattern[j];
    if (c === '\\') j++;
    else if (c === ']' && j > open + 1 && !(j === open + 2 && pattern[open + 1] === '^')) return j;
  }
  throw invalidArgument('syntax error in pattern');
}

function classBody(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '\\') {
      i++;
      if (i >= body.length) throw invalidArgument('syntax error in pattern');
      out += `\\${body[i] as string}`;
    } else if (c === '-' && out !== '' && i + 1 < body.length) out += '-';
    else out += /[\]\\^-]/.test(c) ? `\\${c}` : c;
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * `FamiliarMatch`: does the glob `pattern` (Go `path.Match` syntax) match the familiar string of
 * `ref`, or failing that its familiar name? Throws invalid-argument for a malformed pattern.
 */
export function familiarMatch(pattern: string, ref: NamedReference): boolean {
  const re = globToRegExp(pattern);
  return re.test(familiarString(ref)) || re.test(familiarName(ref));
}
