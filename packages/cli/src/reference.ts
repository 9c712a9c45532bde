/**
 * Image references the way docker's `distribution/reference` reads them, as far as the CLI needs:
 * splitting `[domain/]path[:tag][@digest]`, the familiar form shown in tables (`busybox`,
 * `myrepo/bb`) and the normalised form pulls send (`docker.io/library/busybox`).
 */

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

export interface ImageReference {
  /** Registry host, `docker.io` when none was given. */
  domain: string;
  /** Repository path inside the registry (`library/busybox`). */
  path: string;
  tag?: string;
  digest?: string;
}

/** Parses a reference (no validation beyond its shape; the daemon validates names). */
export function parseReference(ref: string): ImageReference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1 && colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  const first = slash === -1 ? '' : rest.slice(0, slash);
  if (
    slash !== -1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())
  ) {
    domain = first === LEGACY_DOMAIN ? DEFAULT_DOMAIN : first;
    path = rest.slice(slash + 1);
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `${OFFICIAL_PREFIX}${path}`;
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `docker.io/library/busybox` */
export function normalizedName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** `busybox`, `myrepo/bb`, `registry:5000/x` */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith(OFFICIAL_PREFIX) && !ref.path.slice(OFFICIAL_PREFIX.length).includes('/')
    ? ref.path.slice(OFFICIAL_PREFIX.length)
    : ref.path;
}

/** `busybox:latest` — the familiar name with its tag (and digest), `latest` added when neither is given. */
export function familiarStringWithDefaultTag(refText: string): string {
  const ref = parseReference(refText);
  const tag = ref.tag ?? (ref.digest ? undefined : 'latest');
  return `${familiarName(ref)}${tag ? `:${tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Docker's `stringid.TruncateID`: drop an `algo:` prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const colon = id.indexOf(':');
  return (colon === -1 ? id : id.slice(colon + 1)).slice(0, 12);
}
