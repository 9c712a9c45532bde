/**
 * The `filters` query parameter. Docker sends the map-of-booleans form
 * (`{"status":{"exited":true}}`); dockerode and older clients send the list form
 * (`{"label":["a=b"]}`). Both become core's `Filters` (`{ key: [values…] }`).
 */
import type { Filters } from '@tsdocker/core';
import { invalidArgument } from './http-status.js';

/** moby's `invalidFilter` error text. */
const INVALID_FILTER = 'invalid filter';

export function parseFilters(raw: string): Filters {
  if (raw === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalidArgument(INVALID_FILTER);
  }
  // `null` decodes to an empty set in Go.
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument(INVALID_FILTER);

  // No prototype: a `__proto__` key from the client is an ordinary (invalid) filter name.
  const filters: Filters = Object.create(null);
  for (const [key, values] of Object.entries(parsed as Record<string, unknown>)) {
    if (values === null) {
      filters[key] = [];
    } else if (Array.isArray(values)) {
      if (!values.every((value): value is string => typeof value === 'string'))
        throw invalidArgument(INVALID_FILTER);
      filters[key] = [...new Set(values)];
    } else if (typeof values === 'object') {
      const entries = Object.entries(values as Record<string, unknown>);
      if (!entries.every(([, flag]) => typeof flag === 'boolean')) throw invalidArgument(INVALID_FILTER);
      // Like moby's `Args.Get`, every key of the set counts, whatever its boolean.
      filters[key] = entries.map(([value]) => value);
    } else {
      throw invalidArgument(INVALID_FILTER);
    }
  }
  return filters;
}

/** Adds a value under `key` unless it is already there. */
export function addFilter(filters: Filters, key: string, value: string): void {
  const values = filters[key] ?? [];
  if (!values.includes(value)) values.push(value);
  filters[key] = values;
}
