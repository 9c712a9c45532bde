/**
 * Query strings encoded like Go's `url.Values.Encode`, which is what the docker CLI sends: keys
 * sorted, repeated keys for lists, `+` for spaces, and only `A-Za-z0-9-_.~` left unescaped.
 */

export type QueryValue = string | number | boolean | readonly string[] | undefined | null;
export type Query = Record<string, QueryValue>;

/** Go's `url.QueryEscape`. */
export function queryEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * Encodes a query. `true` becomes `1` (docker's boolean form); `false`, `undefined` and `null`
 * leave the key out, as the CLI only sends flags that are set.
 */
export function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === undefined || value === null || value === false) continue;
    const values = Array.isArray(value)
      ? (value as readonly string[])
      : [value === true ? '1' : String(value)];
    for (const v of values) parts.push(`${queryEscape(key)}=${queryEscape(v)}`);
  }
  return parts.join('&');
}
