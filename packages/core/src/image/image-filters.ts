/**
 * `GET /images/json` filters, checked and resolved up front (moby's `Images`): `dangling`,
 * `label`, `before`, `since`, `until` and `reference`. Unknown keys and bad values are
 * invalid-argument, with Docker's `invalid filter …` messages.
 */
import { invalidArgument } from '../errors.js';
import type { Filters } from '../services.js';
import type { ImageEntry } from './image-store.js';
import { familiarMatch, type NamedReference } from './reference.js';
import { parseFilterTimestamp } from './timestamps.js';

const ACCEPTED = new Set(['dangling', 'label', 'before', 'since', 'reference', 'until']);

export interface ImageListFilter {
  danglingOnly: boolean;
  /** `dangling=false` was asked for explicitly. */
  danglingGiven: boolean;
  /** Only images created strictly before this (ns), when set. */
  beforeNs: bigint | null;
  /** Only images created strictly after this (ns), when set. */
  sinceNs: bigint | null;
  labels: string[];
  references: string[];
}

function invalidFilter(key: string, values?: string[]): Error {
  return invalidArgument(
    values && values.length > 0 ? `invalid filter '${key}=${values.join(',')}'` : `invalid filter '${key}'`,
  );
}

/** Docker's `GetBoolOrDefault`: one of true/1 or false/0, not both. */
function boolFilter(filters: Filters, key: string): boolean | null {
  const values = filters[key];
  if (values === undefined) return null;
  if (values.length === 0) throw invalidFilter(key);
  const set = new Set(values.map((v) => v.toLowerCase()));
  const isTrue = set.has('true') || set.has('1');
  const isFalse = set.has('false') || set.has('0');
  if (isTrue === isFalse) throw invalidFilter(key, values);
  return isTrue;
}

/**
 * Validates `filters` and resolves `before`/`since` to times. `createdOf` looks an image up the
 * way every image endpoint does (and throws its not-found error).
 */
export function parseImageListFilters(
  filters: Filters,
  createdOf: (ref: string) => bigint | null,
): ImageListFilter {
  for (const [key, values] of Object.entries(filters)) {
    if (!ACCEPTED.has(key)) throw invalidFilter(key);
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw invalidFilter(key);
  }
  const dangling = boolFilter(filters, 'dangling');
  let beforeNs: bigint | null = null;
  for (const ref of filters.before ?? []) {
    const created = createdOf(ref);
    // Several values resolve to the oldest image: the conditions are ANDed.
    if (created !== null && (beforeNs === null || created < beforeNs)) beforeNs = created;
  }
  for (const value of filters.until ?? []) {
    const ts = parseFilterTimestamp(value);
    if (beforeNs === null || ts < beforeNs) beforeNs = ts;
  }
  let sinceNs: bigint | null = null;
  for (const ref of filters.since ?? []) {
    const created = createdOf(ref);
    if (created !== null && (sinceNs === null || created > sinceNs)) sinceNs = created;
  }
  const references = filters.reference ?? [];
  // Reject a malformed glob now rather than on the first image that reaches it.
  for (const pattern of references) {
    familiarMatch(pattern, {
      kind: 'named',
      domain: 'docker.io',
      path: 'library/x',
      tag: 'latest',
      digest: null,
    });
  }
  return {
    danglingOnly: dangling === true,
    danglingGiven: dangling !== null,
    beforeNs,
    sinceNs,
    labels: filters.label ?? [],
    references,
  };
}

/** Time and label conditions (what can be decided from the image alone). */
export function matchesImage(filter: ImageListFilter, entry: ImageEntry): boolean {
  if (filter.beforeNs !== null && (entry.createdNs === null || !(entry.createdNs < filter.beforeNs)))
    return false;
  if (filter.sinceNs !== null && (entry.createdNs === null || !(entry.createdNs > filter.sinceNs)))
    return false;
  if (filter.labels.length > 0) {
    const labels = entry.config.config?.Labels;
    if (!labels || Object.keys(labels).length === 0) return false;
    for (const wanted of filter.labels) {
      const eq = wanted.indexOf('=');
      const key = eq === -1 ? wanted : wanted.slice(0, eq);
      if (!Object.hasOwn(labels, key)) return false;
      if (eq !== -1 && labels[key] !== wanted.slice(eq + 1)) return false;
    }
  }
  return true;
}

/** The references of an image that the `reference` filter lets through (all without it). */
export function matchingReferences(filter: ImageListFilter, refs: NamedReference[]): NamedReference[] {
  if (filter.references.length === 0) return refs;
  return refs.filter((ref) => filter.references.some((pattern) => familiarMatch(pattern, ref)));
}
