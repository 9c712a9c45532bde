/**
 * Docker's multiplexed stream framing (non-TTY attach, exec and logs): each frame is an 8-byte
 * header — stream id, three zero bytes, big-endian uint32 length — then the payload. Stream 0
 * (stdin echo) and 1 go to stdout, 2 to stderr; 3 carries an error from the daemon.
 */
import type { Writable } from 'node:stream';
import { CliError } from '../cli-errors.js';
import { writeAll } from '../streams/write.js';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEM_ERROR = 3;
const HEADER_LENGTH = 8;

export type StreamId = typeof STDIN | typeof STDOUT | typeof STDERR | typeof SYSTEM_ERROR;

export interface Frame {
  stream: StreamId;
  payload: Buffer;
}

/** Encodes one frame (the daemon's side; used by tests and fakes). */
export function encodeFrame(stream: StreamId, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(HEADER_LENGTH);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

/** Splits a byte stream into frames, whatever the chunk boundaries. */
export class FrameParser {
  private buffered: Buffer = Buffer.alloc(0);

  /** Returns the frames completed by `chunk`. Throws on a header docker would not accept. */
  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    let offset = 0;
    while (this.buffered.length - offset >= HEADER_LENGTH) {
      const stream = this.buffered[offset] as number;
      if (stream > SYSTEM_ERROR) throw new CliError(`Unrecognized input header: ${stream}`);
      const length = this.buffered.readUInt32BE(offset + 4);
      if (this.buffered.length - offset - HEADER_LENGTH < length) break;
      const start = offset + HEADER_LENGTH;
      frames.push({ stream: stream as StreamId, payload: this.buffered.subarray(start, start + length) });
      offset = start + length;
    }
    this.buffered = this.buffered.subarray(offset);
    return frames;
  }

  /** Bytes of an incomplete frame; docker drops a truncated final frame silently. */
  get pendingBytes(): number {
    return this.buffered.length;
  }
}

/**
 * Copies a multiplexed stream to stdout/stderr until it ends. A stream-3 frame fails with the
 * daemon's message, as `stdcopy.StdCopy` does.
 */
export async function demultiplex(
  source: AsyncIterable<Buffer | string>,
  stdout: Writable,
  stderr: Writable,
): Promise<void> {
  const parser = new FrameParser();
  for await (const chunk of source) {
    for (const frame of parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
      if (frame.stream === SYSTEM_ERROR) {
        throw new CliError(`error from daemon in stream: ${frame.payload.toString('utf8')}`);
      }
      if (frame.payload.length > 0) await writeAll(frame.stream === STDERR ? stderr : stdout, frame.payload);
    }
  }
}
