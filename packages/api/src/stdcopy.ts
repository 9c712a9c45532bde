/**
 * Docker's multiplexed stream framing (moby `stdcopy`): each frame is an 8-byte header — stream
 * id, three zero bytes, big-endian uint32 payload length — then the payload. Used for non-TTY
 * attach, exec and logs. TTY streams carry raw bytes instead.
 */
import type { OutputChunk } from '@tsdocker/core';

export const MEDIA_TYPE_RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MEDIA_TYPE_MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

export const StreamId = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  /** A daemon-side failure: the CLI stops with `error from daemon in stream: <payload>`. */
  systemError: 3,
} as const;
export type StreamId = (typeof StreamId)[keyof typeof StreamId];

const HEADER_LENGTH = 8;
const MAX_FRAME_PAYLOAD = 0xffff_ffff;

/** Frames `payload` for `stream`, splitting it if it exceeds what one header can describe. */
export function encodeFrame(stream: StreamId, payload: Buffer): Buffer {
  if (payload.length <= MAX_FRAME_PAYLOAD)
    return Buffer.concat([frameHeader(stream, payload.length), payload]);
  const parts: Buffer[] = [];
  for (let offset = 0; offset < payload.length; offset += MAX_FRAME_PAYLOAD) {
    const slice = payload.subarray(offset, offset + MAX_FRAME_PAYLOAD);
    parts.push(frameHeader(stream, slice.length), slice);
  }
  return Buffer.concat(parts);
}

function frameHeader(stream: StreamId, length: number): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header[0] = stream;
  header.writeUInt32BE(length, 4);
  return header;
}

/** The bytes to put on the wire for one output chunk: raw for TTY, framed otherwise. */
export function encodeOutputChunk(chunk: OutputChunk, tty: boolean): Buffer {
  if (tty) return chunk.data;
  return encodeFrame(chunk.stream === 'stderr' ? StreamId.stderr : StreamId.stdout, chunk.data);
}

/**
 * How to report a failure that happens after the stream started: a system-error frame when
 * multiplexed (the CLI turns it into an error), plain text when raw (nothing better exists).
 */
export function encodeStreamError(message: string, tty: boolean): Buffer {
  const text = Buffer.from(`${message}\r\n`);
  return tty ? text : encodeFrame(StreamId.systemError, text);
}

/** Splits a multiplexed byte stream back into frames (for tests and clients of this package). */
export function decodeFrames(data: Buffer): {
  frames: Array<{ stream: number; payload: Buffer }>;
  rest: Buffer;
} {
  const frames: Array<{ stream: number; payload: Buffer }> = [];
  let offset = 0;
  while (data.length - offset >= HEADER_LENGTH) {
    const length = data.readUInt32BE(offset + 4);
    if (data.length - offset - HEADER_LENGTH < length) break;
    const stream = data[offset] ?? 0;
    frames.push({ stream, payload: data.subarray(offset + HEADER_LENGTH, offset + HEADER_LENGTH + length) });
    offset += HEADER_LENGTH + length;
  }
  return { frames, rest: data.subarray(offset) };
}
