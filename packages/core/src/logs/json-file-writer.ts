/**
 * The `json-file` log driver's writer: one JSON object per line, Docker's format
 * (`{"log":"hello\n","stream":"stdout","time":"…Z"}`), split at newlines per stream as Docker's
 * log copier does. Followers subscribe to `append`/`close` events and read the file itself, so
 * the file is the single source of truth.
 */
import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { formatNanos, nowNanos } from './log-time.js';

/** Docker's copier flushes a partial line at 16 KiB. */
const MAX_LINE = 16 * 1024;

export class JsonFileLogWriter extends EventEmitter {
  private readonly file: WriteStream;
  private readonly partial = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  private closed = false;

  constructor(readonly path: string) {
    super();
    this.file = createWriteStream(path, { flags: 'a', mode: 0o640 });
    this.file.on('error', (err) => this.emit('error', err));
  }

  write(stream: 'stdout' | 'stderr', data: Buffer): void {
    if (this.closed) return;
    let buf = Buffer.concat([this.partial[stream], data]);
    let nl = buf.indexOf(0x0a);
    while (nl !== -1) {
      this.append(stream, buf.subarray(0, nl + 1));
      buf = buf.subarray(nl + 1);
      nl = buf.indexOf(0x0a);
    }
    while (buf.length >= MAX_LINE) {
      this.append(stream, buf.subarray(0, MAX_LINE));
      buf = buf.subarray(MAX_LINE);
    }
    this.partial[stream] = Buffer.from(buf);
  }

  private append(stream: 'stdout' | 'stderr', line: Buffer): void {
    const entry = `${JSON.stringify({ log: line.toString('utf8'), stream, time: formatNanos(nowNanos()) })}\n`;
    this.file.write(entry, () => this.emit('append'));
  }

  /** Writes any partial lines and closes the file; followers then see `close`. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream].length > 0) this.append(stream, this.partial[stream]);
    }
    this.closed = true;
    await new Promise<void>((resolve) => this.file.end(resolve));
    this.emit('close');
  }
}
