/**
 * Reads a `json-file` log with Docker's options: stream selection, since/until, tail, timestamps,
 * and follow (new lines as the writer appends them, ending when the writer closes).
 */
import type { EventEmitter } from 'node:events';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { OutputChunk } from '../services.js';
import { parseNanos } from './log-time.js';

export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

export interface ReadLogsOptions {
  stdout: boolean;
  stderr: boolean;
  /** Inclusive lower bound in nanoseconds since the epoch; 0n = none. */
  sinceNs: bigint;
  /** Exclusive upper bound in nanoseconds; 0n = none. */
  untilNs: bigint;
  tail: number | 'all';
  timestamps: boolean;
  /** With follow: the live writer; null when the container is not running (no follow then). */
  follow: EventEmitter | null;
}

const BLOCK = 64 * 1024;

function parseEntry(line: string): LogEntry | null {
  try {
    const e = JSON.parse(line) as Partial<LogEntry>;
    if (typeof e.log !== 'string' || typeof e.time !== 'string') return null;
    if (e.stream !== 'stdout' && e.stream !== 'stderr') return null;
    return e as LogEntry;
  } catch {
    return null;
  }
}

/** Byte offset where the last `n` lines of the file start (reads backwards in blocks). */
async function tailOffset(fh: FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  let pos = size;
  let newlines = 0;
  const buf = Buffer.alloc(BLOCK);
  // The final byte is the last line's own newline; it does not start a line.
  let skipFirst = true;
  while (pos > 0) {
    const len = Math.min(BLOCK, pos);
    pos -= len;
    await fh.read(buf, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      if (skipFirst && pos + i === size - 1) continue;
      if (++newlines === n) return pos + i + 1;
    }
    skipFirst = false;
  }
  return 0;
}

export function readJsonFileLogs(path: string, opts: ReadLogsOptions): { output: Readable; close(): void } {
  let closed = false;
  let wake: (() => void) | null = null;
  let writerClosed = opts.follow === null;
  const onAppend = () => wake?.();
  const onClose = () => {
    writerClosed = true;
    wake?.();
  };
  opts.follow?.on('append', onAppend);
  opts.follow?.once('close', onClose);

  const wanted = (e: LogEntry) => {
    if (e.stream === 'stdout' ? !opts.stdout : !opts.stderr) return false;
    if (opts.sinceNs > 0n || opts.untilNs > 0n) {
      const t = parseNanos(e.time);
      if (t === null) return false;
      if (opts.sinceNs > 0n && t < opts.sinceNs) return false;
      if (opts.untilNs > 0n && t >= opts.untilNs) return false;
    }
    return true;
  };
  const toChunk = (e: LogEntry): OutputChunk => ({
    stream: e.stream,
    data: Buffer.from(opts.timestamps ? `${e.time} ${e.log}` : e.log),
  });

  async function* entries(): AsyncGenerator<OutputChunk> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      let offset = opts.tail === 'all' ? 0 : await tailOffset(fh, size, opts.tail);
      let rest = '';
      for (;;) {
        const buf = Buffer.alloc(BLOCK);
        const { bytesRead } = await fh.read(buf, 0, BLOCK, offset);
        if (bytesRead > 0) {
          offset += bytesRead;
          const lines = (rest + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) {
            const e = parseEntry(line);
            if (e && wanted(e)) yield toChunk(e);
          }
          continue;
        }
        if (closed || writerClosed) {
          // One last read after the writer closed: it may have appended in between.
          const { bytesRead: more } = await fh.read(buf, 0, 1, offset);
          if (more === 0 || closed) return;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    } finally {
      await fh.close();
    }
  }

  const output = Readable.from(entries(), { objectMode: true });
  const close = () => {
    if (closed) return;
    closed = true;
    opts.follow?.off('append', onAppend);
    opts.follow?.off('close', onClose);
    wake?.();
  };
  output.on('close', close);
  return { output, close };
}
