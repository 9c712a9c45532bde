/**
 * A small subset of Go's text/template for `inspect -f`, evaluated against the daemon's JSON:
 * field paths (`{{.State.Status}}`, `{{.}}`), string and number literals, pipelines
 * (`{{.Config.Env | json}}`), `{{-`/`-}}` trimming, and docker's common template functions
 * (json, index, join, split, lower, upper, title, len, println, truncate, pad). Control actions
 * (if, range, with, define, …) are refused with a clear error instead of being half-supported.
 */
import { CliError } from '../cli-errors.js';

type Token =
  | { kind: 'field'; path: string[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'ident'; name: string }
  | { kind: 'pipe' };

type Segment = { kind: 'text'; text: string } | { kind: 'action'; source: string; commands: Token[][] };

const UNSUPPORTED = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
]);

export class TemplateError extends CliError {
  constructor(message: string) {
    super(`template parsing error: ${message}`);
    this.name = 'TemplateError';
  }
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '|') {
      tokens.push({ kind: 'pipe' });
      i++;
    } else if (ch === '.') {
      const match = /^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?/.exec(source.slice(i));
      const text = match?.[0] ?? '.';
      tokens.push({ kind: 'field', path: text === '.' ? [] : text.slice(1).split('.') });
      i += text.length;
    } else if (ch === '"') {
      const match = /^"(?:[^"\\]|\\.)*"/.exec(source.slice(i));
      if (!match) throw new TemplateError(`unterminated quoted string in "{{${source}}}"`);
      tokens.push({ kind: 'string', value: JSON.parse(match[0]) as string });
      i += match[0].length;
    } else if (ch === '`') {
      const end = source.indexOf('`', i + 1);
      if (end === -1) throw new TemplateError(`unterminated raw quoted string in "{{${source}}}"`);
      tokens.push({ kind: 'string', value: source.slice(i + 1, end) });
      i = end + 1;
    } else if (/[-0-9]/.test(ch)) {
      const match = /^-?\d+(?:\.\d+)?/.exec(source.slice(i));
      if (!match) throw new TemplateError(`bad number syntax in "{{${source}}}"`);
      tokens.push({ kind: 'number', value: Number(match[0]) });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'ident', name: match[0] });
      i += match[0].length;
    } else {
      throw new TemplateError(
        `unexpected "${ch}" in "{{${source}}}" (only fields, literals, functions and | are supported)`,
      );
    }
  }
  return tokens;
}

function parseAction(source: string): Token[][] {
  const tokens = tokenize(source);
  const first = tokens[0];
  if (!first) throw new TemplateError('missing value for command');
  if (first.kind === 'ident' && UNSUPPORTED.has(first.name)) {
    throw new TemplateError(`"{{${first.name}}}" actions are not supported by tsdocker's inspect templates`);
  }
  const commands: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind === 'pipe') commands.push([]);
    else (commands[commands.length - 1] as Token[]).push(token);
  }
  if (commands.some((c) => c.length === 0))
    throw new TemplateError(`missing command in pipeline "{{${source}}}"`);
  return commands;
}

export function parseTemplate(template: string): Segment[] {
  const segments: Segment[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open === -1) {
      segments.push({ kind: 'text', text: rest });
      break;
    }
    let text = rest.slice(0, open);
    let inner = rest.slice(open + 2);
    if (/^-\s/.test(inner)) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    const close = inner.indexOf('}}');
    if (close === -1) throw new TemplateError('unclosed action');
    let source = inner.slice(0, close);
    rest = inner.slice(close + 2);
    if (/\s-$/.test(source)) {
      source = source.slice(0, -1);
      rest = rest.replace(/^\s+/, '');
    }
    if (text) segments.push({ kind: 'text', text });
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(source)) continue; // a comment
    segments.push({ kind: 'action', source: source.trim(), commands: parseAction(source) });
  }
  return segments;
}

/** Go's `%v` for values decoded from JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '<no value>';
  if (value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `map[${entries.map(([k, v]) => `${k}:${formatValue(v)}`).join(' ')}]`;
  }
  return String(value);
}

function lookup(data: unknown, path: string[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const asString = (v: unknown) => (typeof v === 'string' ? v : formatValue(v));

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v === undefined ? null : v),
  index: (v, ...keys) => {
    let current = v;
    for (const key of keys) {
      if (Array.isArray(current) && typeof key === 'number') current = current[key];
      else if (current !== null && typeof current === 'object')
        current = (current as Record<string, unknown>)[asString(key)];
      else throw new TemplateError(`can't index item of type ${current === null ? 'nil' : typeof current}`);
    }
    return current;
  },
  join: (list, sep) => (Array.isArray(list) ? list.map(asString).join(asString(sep)) : asString(list)),
  split: (s, sep) => asString(s).split(asString(sep)),
  lower: (s) => asString(s).toLowerCase(),
  upper: (s) => asString(s).toUpperCase(),
  title: (s) => asString(s).replace(/(^|\s)(\S)/g, (_m, space: string, c: string) => space + c.toUpperCase()),
  len: (v) =>
    Array.isArray(v) || typeof v === 'string'
      ? v.length
      : v && typeof v === 'object'
        ? Object.keys(v).length
        : 0,
  println: (...args) => `${args.map(formatValue).join(' ')}\n`,
  truncate: (s, n) => [...asString(s)].slice(0, Number(n)).join(''),
  pad: (s, left, right) => `${' '.repeat(Number(left))}${asString(s)}${' '.repeat(Number(right))}`,
};

function evaluateOperand(token: Token, data: unknown): unknown {
  switch (token.kind) {
    case 'field':
      return token.path.length === 0 ? data : lookup(data, token.path);
    case 'string':
    case 'number':
      return token.value;
    case 'ident':
      if (token.name === 'nil') return null;
      if (token.name === 'true' || token.name === 'false') return token.name === 'true';
      throw new TemplateError(`function "${token.name}" used as a value`);
    default:
      throw new TemplateError('unexpected |');
  }
}

function evaluateCommand(command: Token[], data: unknown, piped: { value: unknown } | undefined): unknown {
  const [head, ...rest] = command as [Token, ...Token[]];
  if (head.kind === 'ident' && !['nil', 'true', 'false'].includes(head.name)) {
    const fn = FUNCTIONS[head.name];
    if (!fn) throw new TemplateError(`function "${head.name}" not defined`);
    const args = rest.map((t) => evaluateOperand(t, data));
    if (piped) args.push(piped.value);
    return fn(...args);
  }
  if (rest.length > 0 || piped)
    throw new TemplateError(`can't give argument to non-function ${formatToken(head)}`);
  return evaluateOperand(head, data);
}

function formatToken(token: Token): string {
  return token.kind === 'field'
    ? `.${token.path.join('.')}`
    : token.kind === 'ident'
      ? token.name
      : String(token);
}

export interface CompiledTemplate {
  render(data: unknown): string;
}

/** Parses once; `render` runs it against one object. */
export function compileTemplate(template: string): CompiledTemplate {
  const segments = parseTemplate(template);
  return {
    render(data: unknown): string {
      let out = '';
      for (const segment of segments) {
        if (segment.kind === 'text') {
          out += segment.text;
          continue;
        }
        let piped: { value: unknown } | undefined;
        for (const command of segment.commands) piped = { value: evaluateCommand(command, data, piped) };
        out += formatValue(piped?.value);
      }
      return out;
    },
  };
}
