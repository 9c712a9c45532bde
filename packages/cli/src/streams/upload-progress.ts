/**
 * A pass-through that counts uploaded bytes and keeps one progress line up to date on a terminal
 * (`Importing f.tar 12.5MB/40.1MB`), redrawn at most every 100 ms and cleared when done.
 */
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { humanSizeWithPrecision } from '../format/size.js';

const REDRAW_MS = 100;

export class UploadProgress extends Transform {
  private sent = 0;
  private lastDraw = 0;
  private visible = false;
  private readonly out: Writable;
  private readonly label: string;
  private readonly total: number | undefined;

  constructor(out: Writable, label: string, total?: number) {
    super();
    this.out = out;
    this.label = label;
    this.total = total;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sent += chunk.length;
    const now = Date.now();
    if (now - this.lastDraw >= REDRAW_MS) {
      this.lastDraw = now;
      this.draw();
    }
    callback(null, chunk);
  }

  /** The upload is complete: take the line away before the daemon's answer is printed. */
  override _flush(callback: TransformCallback): void {
    this.clear();
    callback();
  }

  /** The progress line for the bytes sent so far. */
  line(): string {
    const sent = humanSizeWithPrecision(this.sent, 3);
    return `${this.label} ${sent}${this.total !== undefined ? `/${humanSizeWithPrecision(this.total, 3)}` : ''}`;
  }

  private draw(): void {
    this.visible = true;
    this.out.write(`\x1b[2K\r${this.line()}`);
  }

  /** Removes the progress line if it is showing (also after a failed upload). */
  clear(): void {
    if (!this.visible) return;
    this.visible = false;
    this.out.write('\x1b[2K\r');
  }
}
