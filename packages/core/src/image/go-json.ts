/**
 * JSON written the way Go's encoding/json writes it, for documents whose exact bytes matter (an
 * image id is the sha256 of its config bytes): struct fields in declaration order, map keys
 * sorted bytewise, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`-style sequences.
 *
 * Callers build the document from these pieces; `goObject` keeps the order it is given, so a
 * struct is written field by field, and `goMap` sorts. `undefined` values are dropped, which is
 * how an `omitempty` field is expressed.
 */

/** A fragment of JSON text that is already encoded. */
export class GoJson {
  constructor(readonly text: string) {}
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

export function goString(s: string): GoJson {
  return new GoJson(
    JSON.stringify(s).replace(HTML_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
}

export type GoValue = GoJson | string | number | boolean | null | readonly GoValue[] | undefined;

function encode(value: Exclude<GoValue, undefined>): string {
  if (value instanceof GoJson) return value.text;
  if (typeof value === 'string') return goString(value).text;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot encode ${value} as JSON`);
    return String(value);
  }
  if (typeof value === 'boolean' || value === null) return String(value);
  // Objects parsed from JSON (ExposedPorts' and Volumes' empty structs) are Go maps.
  if (!Array.isArray(value)) return goMap(value as unknown as Record<string, GoValue>).text;
  return `[${value.map((v) => (v === undefined ? 'null' : encode(v))).join(',')}]`;
}

export function goValue(value: Exclude<GoValue, undefined>): GoJson {
  return new GoJson(encode(value));
}

/** A struct: fields in the order given; undefined fields left out (omitempty). */
export function goObject(fields: ReadonlyArray<readonly [string, GoValue]>): GoJson {
  const parts: string[] = [];
  for (const [key, value] of fields) {
    if (value === undefined) continue;
    parts.push(`${goString(key).text}:${encode(value)}`);
  }
  return new GoJson(`{${parts.join(',')}}`);
}

/** Bytewise (UTF-8) order, as Go sorts map keys. */
export function compareBytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A map: keys sorted bytewise; null for a nil map. */
export function goMap(map: Readonly<Record<string, GoValue>> | null | undefined): GoJson {
  if (map === null || map === undefined) return new GoJson('null');
  const keys = Object.keys(map).sort(compareBytewise);
  return goObject(keys.map((k) => [k, map[k] === undefined ? null : map[k]] as const));
}

/** A `[]string`: null for nil. */
export function goStrings(list: readonly string[] | null | undefined): GoJson {
  return list === null || list === undefined ? new GoJson('null') : goValue(list);
}
