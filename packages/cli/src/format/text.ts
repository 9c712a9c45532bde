/** Text helpers the docker CLI uses in its tables: display width, `Ellipsis`, `strconv.Quote`. */

const WIDE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200b-\u200f\u2060]$/u;

/** Terminal columns one code point takes (East Asian wide = 2, combining marks = 0). */
export function runeWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1;
  if (ZERO_WIDTH.test(ch)) return 0;
  for (const [lo, hi] of WIDE_RANGES) if (cp >= lo && cp <= hi) return 2;
  return 1;
}

export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += runeWidth(ch);
  return width;
}

/** docker's `formatter.Ellipsis`: cut to `max` display columns, the last one being `…`. */
export function ellipsis(text: string, max: number): string {
  if (max <= 0) return '';
  const runes = [...text];
  if (max === 1) return runes[0] ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII test
  if (/^[\x00-\x7f]*$/.test(text)) return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
  const widths: number[] = [];
  let total = 0;
  for (const r of runes) {
    total += runeWidth(r);
    widths.push(total);
  }
  if (total <= max) return text;
  for (let i = 0; i < widths.length - 1; i++) {
    if ((widths[i] as number) <= max - 1 && (widths[i + 1] as number) > max - 1)
      return `${runes.slice(0, i + 1).join('')}…`;
  }
  return text;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const SIMPLE_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
  '"': '\\"',
};

/** Go's `strconv.Quote`: double quotes, Go escapes, printable Unicode kept as is. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const simple = SIMPLE_ESCAPES[ch];
    if (simple) {
      out += simple;
      continue;
    }
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x80 || PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
