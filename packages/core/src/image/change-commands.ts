/**
 * `docker import -c` / `docker commit -c`: Dockerfile instructions applied to a container config,
 * as moby's `dockerfile.BuildFromConfig` does. The changes are joined into one Dockerfile text
 * (so `\` continuations and `#` comments work), parsed, checked against the instructions a
 * change may use, and dispatched in order. Errors are invalid-argument with buildkit's messages.
 */
import { parseSignal } from '../container/signals.js';
import { invalidArgument } from '../errors.js';
import { parseGoDuration } from './go-duration.js';
import type { ContainerConfig, HealthConfig } from './image-config.js';
import { processWord, processWords } from './shell-words.js';

/** The instructions `BuildFromConfig` accepts (moby's `validCommitCommands`). */
const VALID_CHANGE_COMMANDS = new Set([
  'cmd',
  'entrypoint',
  'healthcheck',
  'env',
  'expose',
  'label',
  'onbuild',
  'stopsignal',
  'user',
  'volume',
  'workdir',
]);

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const WHITESPACE = /[\t\v\f\r ]+/;
/** container.MinimumDuration: 1ms. */
const MINIMUM_DURATION_NS = 1_000_000;

interface KeyValue {
  key: string;
  value: string;
}

/** One parsed instruction line (buildkit's parser.Node, flattened). */
interface Instruction {
  /** Lower-case instruction name. */
  cmd: string;
  /** The line as written (continuations joined). */
  original: string;
  flags: string[];
  args: string[];
  /** Arguments came from a JSON array. */
  json: boolean;
  /** ENV / LABEL pairs. */
  pairs: KeyValue[];
}

// ---------------------------------------------------------------------------------------------
// Parsing (buildkit's parser package)
// ---------------------------------------------------------------------------------------------

/** Splits the Dockerfile text into logical lines: comments dropped, `\` continuations joined. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const trimmedLeft = raw.replace(/^\s+/, '');
    if (trimmedLeft.startsWith('#')) continue;
    if (pending === null && trimmedLeft === '') continue;
    if (pending !== null && trimmedLeft === '') continue;
    const continued = /\\[ \t]*$/.exec(raw);
    const body = continued ? raw.slice(0, continued.index) : raw;
    pending = pending === null ? body : pending + body;
    if (!continued) {
      out.push(pending);
      pending = null;
    }
  }
  if (pending !== null && pending.trim() !== '') out.push(pending);
  return out;
}

/** buildkit's extractBuilderFlags: leading `--name=value` words; returns them and the rest. */
function extractFlags(line: string): { flags: string[]; rest: string } {
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  const words: string[] = [];
  let phase = IN_SPACES;
  let word = '';
  let quote = '';
  let blankOK = false;
  let parsingFlagArg = false;
  let needFlagArg = true;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = pos < line.length ? (line[pos] as string) : '';
    if (phase === IN_SPACES) {
      if (pos === line.length) break;
      if (/\s/.test(ch)) continue;
      if (!parsingFlagArg && (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-')) {
        return { flags: words, rest: line.slice(pos) };
      }
      phase = IN_WORD;
    }
    if ((phase === IN_WORD || phase === IN_QUOTE) && pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (/\s/.test(ch)) {
        phase = IN_SPACES;
        if (parsingFlagArg) {
          words[words.length - 1] += `=${word}`;
          parsingFlagArg = false;
          needFlagArg = true;
        } else {
          if (word === '--') return { flags: words, rest: line.slice(pos) };
          if (blankOK || word.length > 0) {
            if (needFlagArg) parsingFlagArg = true;
            words.push(word);
          }
        }
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === '=' && needFlagArg) needFlagArg = false;
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        pos++;
        ch = line[pos] as string;
      }
      word += ch;
      continue;
    }
    if (phase === IN_QUOTE) {
      if (ch === quote) {
        phase = IN_WORD;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) {
          phase = IN_WORD;
          continue;
        }
        pos++;
        ch = line[pos] as string;
      }
      word += ch;
    }
  }
  return { flags: words, rest: '' };
}

/** buildkit's parseWords: whitespace-separated words, quotes kept (removed at expansion). */
function parseWords(rest: string): string[] {
  const words: string[] = [];
  let inWord = false;
  let inQuote = false;
  let quote = '';
  let blankOK = false;
  let word = '';
  const chars = [...rest];
  for (let i = 0; i <= chars.length; i++) {
    const ch = chars[i];
    if (ch === undefined) {
      if ((inWord || inQuote) && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (!inWord && !inQuote) {
      if (/\s/u.test(ch)) continue;
      inWord = true;
    }
    if (inWord) {
      if (/\s/u.test(ch)) {
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        inWord = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        inWord = false;
        inQuote = true;
      }
      if (ch === '\\') {
        if (i + 1 === chars.length) continue;
        word += ch;
        i++;
        word += chars[i] as string;
        continue;
      }
      word += ch;
      continue;
    }
    // In a quote: the quote char ends it; backslash escapes except inside single quotes.
    if (ch === quote) {
      inQuote = false;
      inWord = true;
    } else if (ch === '\\' && quote !== "'") {
      if (i + 1 === chars.length) {
        inQuote = false;
        inWord = true;
        continue;
      }
      word += ch;
      i++;
      word += chars[i] as string;
      continue;
    }
    word += ch;
  }
  return words;
}

/** ENV / LABEL arguments: `K V` (old form) or `K=V K2="v 2"`. */
function parseNameValues(rest: string, command: string): KeyValue[] {
  const words = parseWords(rest);
  if (words.length === 0) return [];
  if (!(words[0] as string).includes('=')) {
    const parts = rest.split(WHITESPACE);
    if (parts.length < 2) throw invalidArgument(`${command} must have two arguments`);
    const key = parts[0] as string;
    const value = rest.slice(rest.search(WHITESPACE)).replace(/^[\t\v\f\r ]+/, '');
    return [{ key, value }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq === -1) {
      throw invalidArgument(
        `Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`,
      );
    }
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

/** A JSON array of strings, or null when `rest` is not one (then it is shell form). */
function parseJsonArray(rest: string): string[] | null {
  const trimmed = rest.replace(/^\s+/, '');
  if (!trimmed.startsWith('[')) return null;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  if (!value.every((v) => typeof v === 'string')) {
    throw invalidArgument('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return value as string[];
}

function parseLine(line: string): Instruction {
  const trimmed = line.trim();
  const split = /[\t\v\f\r ]+/.exec(trimmed);
  const cmd = (split ? trimmed.slice(0, split.index) : trimmed).toLowerCase();
  const { flags, rest: afterFlags } = split
    ? extractFlags(trimmed.slice(split.index + split[0].length))
    : { flags: [], rest: '' };
  const rest = afterFlags.trim();
  const node: Instruction = { cmd, original: trimmed, flags, args: [], json: false, pairs: [] };
  switch (cmd) {
    case 'cmd':
    case 'entrypoint': {
      const json = rest === '' ? null : parseJsonArray(rest);
      if (json) [node.args, node.json] = [json, true];
      else if (rest !== '') node.args = [rest];
      break;
    }
    case 'volume': {
      const json = parseJsonArray(rest);
      if (json) [node.args, node.json] = [json, true];
      else if (rest !== '') node.args = rest.split(WHITESPACE);
      break;
    }
    case 'env':
    case 'label':
      node.pairs = parseNameValues(rest, cmd.toUpperCase());
      break;
    case 'expose':
      if (rest !== '') node.args = rest.split(WHITESPACE);
      break;
    case 'user':
    case 'workdir':
    case 'stopsignal':
      if (rest !== '') node.args = [rest];
      break;
    case 'onbuild':
      // The trigger is kept as text; only its instruction name matters here.
      if (rest !== '') node.args = [rest.split(WHITESPACE)[0]?.toLowerCase() ?? ''];
      break;
    case 'healthcheck': {
      const space = /\s/.exec(rest);
      if (rest === '') break;
      const type = space ? rest.slice(0, space.index) : rest;
      const cmdText = space ? rest.slice(space.index).replace(/^\s+/, '') : '';
      const json = cmdText === '' ? null : parseJsonArray(cmdText);
      node.args = json ? [type, ...json] : cmdText === '' ? [type] : [type, cmdText];
      node.json = json !== null;
      break;
    }
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// Per-instruction checks (buildkit's instructions package)
// ---------------------------------------------------------------------------------------------

/** BFlags.Parse: every flag must be a known string flag given once with a value. */
function parseFlags(node: Instruction, allowed: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const arg of node.flags) {
    if (!arg.startsWith('--')) throw invalidArgument(`arg should start with -- : ${arg}`);
    if (arg === '--') break;
    const eq = arg.indexOf('=', 2);
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!allowed.includes(name)) throw invalidArgument(`unknown flag: ${name}`);
    if (values.has(name)) throw invalidArgument(`duplicate flag specified: ${name}`);
    if (eq === -1) throw invalidArgument(`missing a value on flag: ${name}`);
    values.set(name, arg.slice(eq + 1));
  }
  return values;
}

function parseInterval(flags: Map<string, string>, name: string): number {
  const value = flags.get(name) ?? '';
  if (value === '') return 0;
  const ns = parseGoDuration(value);
  if (ns === 0) return 0;
  if (ns < MINIMUM_DURATION_NS)
    throw invalidArgument(`Interval ${JSON.stringify(name)} cannot be less than 1ms`);
  return ns;
}

function parseHealthcheck(node: Instruction): HealthConfig {
  if (node.args.length === 0) throw invalidArgument('HEALTHCHECK requires at least one argument');
  const type = (node.args[0] as string).toUpperCase();
  const args = node.args.slice(1);
  if (type === 'NONE') {
    if (args.length !== 0) throw invalidArgument('HEALTHCHECK NONE takes no arguments');
    parseFlags(node, []);
    return { Test: ['NONE'] };
  }
  const flags = parseFlags(node, ['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
  if (type !== 'CMD') throw invalidArgument(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  if (args.length === 0) throw invalidArgument('Missing command after HEALTHCHECK CMD');
  const health: HealthConfig = {
    Test: node.json ? ['CMD', ...args] : ['CMD-SHELL', args.join(' ')],
    Interval: parseInterval(flags, 'interval'),
    Timeout: parseInterval(flags, 'timeout'),
    StartPeriod: parseInterval(flags, 'start-period'),
    StartInterval: parseInterval(flags, 'start-interval'),
    Retries: 0,
  };
  const retries = flags.get('retries') ?? '';
  if (retries !== '') {
    if (!/^[+-]?\d+$/.test(retries)) {
      throw invalidArgument(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    }
    const n = Number(retries);
    if (n < 0) throw invalidArgument(`--retries cannot be negative (${n})`);
    if (n > 2 ** 31 - 1)
      throw invalidArgument(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: value out of range`);
    health.Retries = n;
  }
  return health;
}

/** Checks argument counts and flags before anything is applied (buildkit's ParseCommand). */
function checkInstruction(node: Instruction): void {
  const name = node.cmd.toUpperCase();
  if (node.cmd === 'healthcheck') {
    parseHealthcheck(node);
    return;
  }
  parseFlags(node, []);
  switch (node.cmd) {
    case 'env':
    case 'label':
      if (node.pairs.length === 0) throw invalidArgument(`${name} requires at least one argument`);
      if (node.pairs.some((p) => p.key === '')) throw invalidArgument(`${name} names can not be blank`);
      break;
    case 'expose':
    case 'onbuild':
      if (node.args.length === 0) throw invalidArgument(`${name} requires at least one argument`);
      break;
    case 'user':
    case 'workdir':
    case 'stopsignal':
      if (node.args.length !== 1) throw invalidArgument(`${name} requires exactly one argument`);
      break;
    case 'volume':
      if (node.args.some((v) => v.trim() === ''))
        throw invalidArgument('VOLUME specified can not be an empty string');
      break;
  }
  if (node.cmd === 'onbuild') {
    const trigger = (node.args[0] as string).toUpperCase();
    if (trigger === 'ONBUILD') throw invalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (trigger === 'MAINTAINER' || trigger === 'FROM') {
      throw invalidArgument(`${trigger} isn't allowed as an ONBUILD trigger`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch (moby's dispatchers.go)
// ---------------------------------------------------------------------------------------------

interface DispatchState {
  config: ContainerConfig;
  /** A CMD was given earlier in these changes: a later ENTRYPOINT keeps it. */
  cmdSet: boolean;
}

/** moby's resolveCmdLine for Linux: shell form runs through the config's shell. */
function resolveCmdLine(node: Instruction, config: ContainerConfig): string[] {
  if (node.args.length === 0) return [];
  if (node.json) return [...node.args];
  const shell = config.Shell && config.Shell.length > 0 ? config.Shell : DEFAULT_SHELL;
  return [...shell, node.args.join(' ')];
}

/** nat.ParsePortSpec, reduced to what EXPOSE keeps: the container port(s) and protocol. */
function exposedPorts(spec: string): string[] {
  const parts = spec.split(':');
  const containerPart = parts[parts.length - 1] as string;
  const slash = containerPart.split('/');
  let port = containerPart;
  let proto = 'tcp';
  if (containerPart === '' || (slash[0] ?? '') === '') {
    throw invalidArgument(`no port specified: ${spec}<empty>`);
  }
  if (slash.length > 1) {
    port = slash[0] as string;
    if ((slash[1] ?? '') !== '') proto = slash[1] as string;
  }
  const range = /^(\d+)(?:-(\d+))?$/.exec(port);
  const start = range ? Number(range[1]) : Number.NaN;
  const end = range?.[2] !== undefined ? Number(range[2]) : start;
  if (!range || start > 65535 || end > 65535 || end < start)
    throw invalidArgument(`invalid containerPort: ${port}`);
  const lower = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(lower)) throw invalidArgument(`invalid proto: ${proto}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${lower}`);
  return out;
}

function setEnv(config: ContainerConfig, key: string, value: string): void {
  const entry = `${key}=${value}`;
  const env = config.Env ? [...config.Env] : [];
  const at = env.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (at >= 0) env[at] = entry;
  else env.push(entry);
  config.Env = env;
}

/** moby's normalizeWorkdir (Linux): relative paths are joined to the current one and cleaned. */
function normalizeWorkdir(current: string, requested: string): string {
  if (requested === '') throw invalidArgument('cannot normalize nothing');
  if (requested.startsWith('/')) return requested;
  const parts: string[] = [];
  for (const part of `/${current}/${requested}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function dispatch(node: Instruction, state: DispatchState): void {
  const config = state.config;
  const env = config.Env ?? [];
  const expand = (word: string) => processWord(word, env);
  switch (node.cmd) {
    case 'cmd':
      config.Cmd = resolveCmdLine(node, config);
      config.ArgsEscaped = false;
      if (node.args.length > 0) state.cmdSet = true;
      return;
    case 'entrypoint':
      config.Entrypoint = resolveCmdLine(node, config);
      config.ArgsEscaped = false;
      if (!state.cmdSet) config.Cmd = null;
      return;
    case 'env': {
      const pairs = node.pairs.map((p) => ({ key: expand(p.key), value: expand(p.value) }));
      for (const p of pairs) setEnv(config, p.key, p.value);
      return;
    }
    case 'label': {
      const pairs = node.pairs.map((p) => ({ key: expand(p.key), value: expand(p.value) }));
      const labels = { ...(config.Labels ?? {}) };
      for (const p of pairs) labels[p.key] = p.value;
      config.Labels = labels;
      return;
    }
    case 'expose': {
      const ports = node.args.flatMap((a) => processWords(a, env)).flatMap(exposedPorts);
      const set = { ...(config.ExposedPorts ?? {}) };
      for (const p of ports) set[p] = {};
      config.ExposedPorts = set;
      return;
    }
    case 'user':
      config.User = expand(node.args[0] as string);
      return;
    case 'workdir':
      config.WorkingDir = normalizeWorkdir(config.WorkingDir ?? '', expand(node.args[0] as string));
      return;
    case 'volume': {
      const volumes = { ...(config.Volumes ?? {}) };
      for (const raw of node.args) {
        const v = expand(raw.trim());
        if (v === '') throw invalidArgument('VOLUME specified can not be an empty string');
        volumes[v] = {};
      }
      config.Volumes = volumes;
      return;
    }
    case 'stopsignal': {
      const signal = expand(node.args[0] as string);
      parseSignal(signal);
      config.StopSignal = signal;
      return;
    }
    case 'onbuild':
      config.OnBuild = [...(config.OnBuild ?? []), node.original.replace(/^\s*ONBUILD\s*/i, '')];
      return;
    case 'healthcheck':
      config.Healthcheck = parseHealthcheck(node);
      return;
  }
}

function cloneConfig(config: ContainerConfig): ContainerConfig {
  return structuredClone(config);
}

/**
 * Applies `changes` to a copy of `base` and returns it; `base` is never modified. With no
 * changes the copy is returned as is. Throws invalid-argument (`run is not a valid change
 * command`, `ENV requires at least one argument`, …) before anything is applied.
 */
export function applyChanges(base: ContainerConfig, changes: readonly string[]): ContainerConfig {
  for (const change of changes) {
    if (typeof change !== 'string') throw invalidArgument('changes must be strings');
  }
  const state: DispatchState = { config: cloneConfig(base), cmdSet: false };
  if (changes.length === 0) return state.config;
  const nodes = logicalLines(changes.join('\n')).map(parseLine);
  for (const node of nodes) {
    if (!VALID_CHANGE_COMMANDS.has(node.cmd))
      throw invalidArgument(`${node.cmd} is not a valid change command`);
    checkInstruction(node);
  }
  for (const node of nodes) dispatch(node, state);
  return state.config;
}
