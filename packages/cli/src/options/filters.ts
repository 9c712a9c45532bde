/**
 * `--filter key=value` flags → docker's `filters` query value: the map-of-booleans JSON form
 * (`{"status":{"exited":true}}`) with keys sorted as Go's encoder writes them.
 */

export class FilterParseError extends Error {}

export type FilterArgs = Map<string, Set<string>>;

export function addFilter(filters: FilterArgs, key: string, value: string): FilterArgs {
  const set = filters.get(key) ?? new Set<string>();
  set.add(value);
  filters.set(key, set);
  return filters;
}

export function parseFilterFlags(flags: readonly string[]): FilterArgs {
  const filters: FilterArgs = new Map();
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq === -1) throw new FilterParseError(`bad format of filter (expected name=value)`);
    addFilter(filters, flag.slice(0, eq).trim().toLowerCase(), flag.slice(eq + 1).trim());
  }
  return filters;
}

/** The JSON string for the `filters` query parameter, or undefined when there are none. */
export function encodeFilters(filters: FilterArgs): string | undefined {
  if (filters.size === 0) return undefined;
  const out: Record<string, Record<string, true>> = {};
  for (const key of [...filters.keys()].sort()) {
    const values: Record<string, true> = {};
    for (const value of [...(filters.get(key) as Set<string>)].sort()) values[value] = true;
    out[key] = values;
  }
  return JSON.stringify(out);
}
