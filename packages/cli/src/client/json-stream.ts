/**
 * Reads a stream of concatenated JSON values (docker's progress streams: one object per line
 * with `\r\n`, but the CLI's decoder accepts any whitespace between values).
 */

/** Yields each top-level JSON value as it completes. */
export async function* readJsonStream(source: AsyncIterable<Buffer | string>): AsyncGenerator<unknown> {
  let text = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  let scanned = 0;
  for await (const chunk of source) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (let i = scanned; i < text.length; i++) {
      const ch = text[i];
      if (start === -1) {
        if (ch === '{' || ch === '[') {
          start = i;
          depth = 1;
        } else if (ch !== undefined && !/\s/.test(ch)) {
          throw new Error(`invalid character '${ch}' looking for beginning of value`);
        }
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          yield JSON.parse(text.slice(start, i + 1));
          text = text.slice(i + 1);
          i = -1;
          start = -1;
        }
      }
    }
    scanned = text.length;
  }
  if (start !== -1) throw new Error('unexpected EOF in JSON stream');
}
