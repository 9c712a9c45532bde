import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJsonFileLogs } from '../../src/logs/json-file-reader.js';
import { JsonFileLogWriter } from '../../src/logs/json-file-writer.js';
import { formatNanos, parseNanos, secondsToNanos } from '../../src/logs/log-time.js';
import type { OutputChunk } from '../../src/services.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsd-logs-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function collect(output: NodeJS.ReadableStream): Promise<OutputChunk[]> {
  const out: OutputChunk[] = [];
  for await (const c of output as AsyncIterable<OutputChunk>) out.push(c);
  return out;
}

const base = {
  stdout: true,
  stderr: true,
  sinceNs: 0n,
  untilNs: 0n,
  tail: 'all' as const,
  timestamps: false,
  follow: null,
};

describe('json-file writer', () => {
  it("writes Docker's format, one entry per line, partial lines at close", async () => {
    const path = join(dir, 'c-json.log');
    const w = new JsonFileLogWriter(path);
    w.write('stdout', Buffer.from('hel'));
    w.write('stdout', Buffer.from('lo\nwor'));
    w.write('stderr', Buffer.from('oops\n'));
    w.write('stdout', Buffer.from('ld'));
    await w.close();
    const lines = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.stream, l.log])).toEqual([
      ['stdout', 'hello\n'],
      ['stderr', 'oops\n'],
      ['stdout', 'world'],
    ]);
    expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });
});

describe('json-file reader', () => {
  async function writeLines(n: number): Promise<string> {
    const path = join(dir, 'c-json.log');
    const w = new JsonFileLogWriter(path);
    for (let i = 0; i < n; i++) w.write(i % 2 ? 'stderr' : 'stdout', Buffer.from(`line ${i}\n`));
    await w.close();
    return path;
  }

  it('selects streams and tails', async () => {
    const path = await writeLines(10);
    const all = await collect(readJsonFileLogs(path, base).output);
    expect(all).toHaveLength(10);
    const out = await collect(readJsonFileLogs(path, { ...base, stderr: false }).output);
    expect(out.map((c) => c.data.toString())).toEqual([
      'line 0\n',
      'line 2\n',
      'line 4\n',
      'line 6\n',
      'line 8\n',
    ]);
    const tail = await collect(readJsonFileLogs(path, { ...base, tail: 3 }).output);
    expect(tail.map((c) => c.data.toString())).toEqual(['line 7\n', 'line 8\n', 'line 9\n']);
    expect(await collect(readJsonFileLogs(path, { ...base, tail: 0 }).output)).toEqual([]);
    expect(await collect(readJsonFileLogs(path, { ...base, tail: 50 }).output)).toHaveLength(10);
  });

  it('prefixes timestamps and honours since/until', async () => {
    const path = await writeLines(3);
    const stamped = await collect(readJsonFileLogs(path, { ...base, timestamps: true }).output);
    expect(stamped[0]!.data.toString()).toMatch(/^\d{4}-.*\.\d{9}Z line 0\n$/);
    const future = await collect(
      readJsonFileLogs(path, { ...base, sinceNs: secondsToNanos(Date.now() / 1000 + 60) }).output,
    );
    expect(future).toEqual([]);
    const past = await collect(
      readJsonFileLogs(path, { ...base, untilNs: secondsToNanos('1.000000000') }).output,
    );
    expect(past).toEqual([]);
  });

  it('follows a live writer until it closes', async () => {
    const path = join(dir, 'live-json.log');
    const w = new JsonFileLogWriter(path);
    w.write('stdout', Buffer.from('before\n'));
    await new Promise((r) => w.once('append', r));
    const reader = readJsonFileLogs(path, { ...base, follow: w });
    const got = collect(reader.output);
    w.write('stdout', Buffer.from('after\n'));
    await new Promise((r) => w.once('append', r));
    await w.close();
    expect((await got).map((c) => c.data.toString())).toEqual(['before\n', 'after\n']);
  });

  it('a missing file is an empty log', async () => {
    expect(await collect(readJsonFileLogs(join(dir, 'none'), base).output)).toEqual([]);
  });
});

describe('log time', () => {
  it('round-trips nanoseconds', () => {
    const ns = 1_704_067_200_123_456_789n;
    expect(formatNanos(ns)).toBe('2024-01-01T00:00:00.123456789Z');
    expect(parseNanos('2024-01-01T00:00:00.123456789Z')).toBe(ns);
    expect(secondsToNanos('1704067200.123456789')).toBe(ns);
  });
});
