/**
 * Dockerfile word processing (buildkit's `shell.Lex` with the `\` escape token): quote removal and
 * `$VAR` / `${VAR}` / `${VAR:-default}` expansion against an environment list (`K=V` entries).
 * ENV, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL and EXPOSE arguments go through it; CMD and
 * ENTRYPOINT do not.
 */
import { invalidArgument } from '../errors.js';

const ESCAPE = '\\';
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isSpace = (ch: string) => /\s/u.test(ch);
const isDigit = (ch: string) => /\p{Nd}/u.test(ch);
const isNameChar = (ch: string) => /[\p{L}\p{Nd}_]/u.test(ch);

/** Collects the words of a `processWords` call: expansion results split, quoted text does not. */
class WordCollector {
  readonly words: string[] = [];
  #current = '';
  #inWord = false;

  addRune(ch: string): void {
    if (isSpace(ch)) {
      if (this.#inWord) {
        this.words.push(this.#current);
        this.#current = '';
        this.#inWord = false;
      }
      return;
    }
    this.addRaw(ch);
  }

  addString(s: string): void {
    for (const ch of s) this.addRune(ch);
  }

  addRaw(s: string): void {
    this.#current += s;
    this.#inWord = true;
  }

  finish(): string[] {
    if (this.#inWord) this.words.push(this.#current);
    return this.words;
  }
}

class Lexer {
  readonly #chars: string[];
  #pos = 0;

  constructor(
    input: string,
    private readonly env: readonly string[],
  ) {
    this.#chars = [...input];
  }

  #peek(): string | undefined {
    return this.#chars[this.#pos];
  }

  #next(): string | undefined {
    return this.#chars[this.#pos++];
  }

  #getEnv(name: string): string | undefined {
    // The last definition wins, as in an environment built by successive ENV instructions.
    for (let i = this.env.length - 1; i >= 0; i--) {
      const entry = this.env[i] as string;
      const eq = entry.indexOf('=');
      const key = eq === -1 ? entry : entry.slice(0, eq);
      if (key === name) return eq === -1 ? '' : entry.slice(eq + 1);
    }
    return undefined;
  }

  /** Processes up to (and consuming) `stop`, or to the end. */
  processUntil(stop: string | null): { text: string; words: string[]; stopped: boolean } {
    let text = '';
    const words = new WordCollector();
    for (let ch = this.#peek(); ch !== undefined; ch = this.#peek()) {
      if (ch === stop) {
        this.#next();
        return { text, words: words.finish(), stopped: true };
      }
      if (ch === "'") {
        const quoted = this.#singleQuote();
        text += quoted;
        words.addRaw(quoted);
      } else if (ch === '"') {
        const quoted = this.#doubleQuote();
        text += quoted;
        words.addRaw(quoted);
      } else if (ch === '$') {
        const value = this.#dollar();
        text += value;
        words.addString(value);
      } else {
        this.#next();
        if (ch === ESCAPE) {
          const escaped = this.#next();
          if (escaped === undefined) break;
          text += escaped;
          words.addRaw(escaped);
        } else {
          text += ch;
          words.addRune(ch);
        }
      }
    }
    return { text, words: words.finish(), stopped: false };
  }

  #singleQuote(): string {
    this.#next();
    let out = '';
    for (;;) {
      const ch = this.#next();
      if (ch === undefined)
        throw invalidArgument('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  #doubleQuote(): string {
    this.#next();
    let out = '';
    for (;;) {
      const ch = this.#peek();
      if (ch === undefined)
        throw invalidArgument('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.#next();
        return out;
      }
      if (ch === '$') {
        out += this.#dollar();
        continue;
      }
      this.#next();
      if (ch === ESCAPE) {
        const following = this.#peek();
        if (following === undefined) continue;
        // Only ", $ and \ can be escaped inside double quotes; other backslashes stay.
        if (following === '"' || following === '$' || following === ESCAPE) {
          out += following;
          this.#next();
          continue;
        }
      }
      out += ch;
    }
  }

  #name(): string {
    let name = '';
    for (let ch = this.#peek(); ch !== undefined; ch = this.#peek()) {
      if (name === '' && isDigit(ch)) {
        while (this.#peek() !== undefined && isDigit(this.#peek() as string)) name += this.#next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.#next() as string;
      if (!isNameChar(ch)) break;
      name += this.#next();
    }
    return name;
  }

  #dollar(): string {
    this.#next();
    if (this.#peek() !== '{') {
      const name = this.#name();
      if (name === '') return '$';
      return this.#getEnv(name) ?? '';
    }
    this.#next();
    const first = this.#peek();
    if (first === undefined) throw invalidArgument("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw invalidArgument('bad substitution');
    const name = this.#name();
    const op = this.#next();
    if (op === undefined) throw invalidArgument("syntax error: missing '}'");
    if (op === '}') return this.#getEnv(name) ?? '';
    const value = this.#getEnv(name);
    if (op === ':') {
      const modifier = this.#next();
      const word = this.#wordUntilBrace();
      if (modifier === '+') return value ? word : (value ?? '');
      if (modifier === '-') return value ? value : word;
      if (modifier === '?') {
        if (value === undefined) throw invalidArgument(`${name}: ${word || 'is not allowed to be unset'}`);
        if (value === '') throw invalidArgument(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      }
      throw invalidArgument(`unsupported modifier (${modifier ?? ''}) in substitution`);
    }
    if (op === '+' || op === '-' || op === '?') {
      const word = this.#wordUntilBrace();
      if (op === '+') return value === undefined ? '' : word;
      if (op === '-') return value === undefined ? word : value;
      if (value === undefined) throw invalidArgument(`${name}: ${word || 'is not allowed to be unset'}`);
      return value;
    }
    throw invalidArgument(`unsupported modifier (${op}) in substitution`);
  }

  #wordUntilBrace(): string {
    const { text, stopped } = this.processUntil('}');
    if (!stopped) throw invalidArgument("syntax error: missing '}'");
    return text;
  }
}

/** One word: quotes removed, variables expanded, whitespace kept (`ProcessWord`). */
export function processWord(word: string, env: readonly string[]): string {
  return new Lexer(word, env).processUntil(null).text;
}

/** Several words: like `processWord`, then split on unquoted whitespace (`ProcessWords`). */
export function processWords(input: string, env: readonly string[]): string[] {
  return new Lexer(input, env).processUntil(null).words;
}
