import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  demultiplex,
  encodeFrame,
  FrameParser,
  STDERR,
  STDOUT,
  SYSTEM_ERROR,
} from '../src/client/stdcopy.js';

async function* chunks(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield part;
}

function collect(stream: PassThrough): () => string {
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return () => Buffer.concat(parts).toString('utf8');
}

describe('stdcopy framing', () => {
  it('encodes the 8-byte big-endian header', () => {
    expect(encodeFrame(STDERR, 'hi')).toEqual(Buffer.from([2, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]));
  });

  it('parses frames whatever the chunk boundaries', () => {
    const bytes = Buffer.concat([
      encodeFrame(STDOUT, 'hello\n'),
      encodeFrame(STDERR, ''),
      encodeFrame(STDERR, 'oops\n'),
    ]);
    for (let split = 0; split <= bytes.length; split++) {
      const parser = new FrameParser();
      const frames = [...parser.push(bytes.subarray(0, split)), ...parser.push(bytes.subarray(split))];
      expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
        [STDOUT, 'hello\n'],
        [STDERR, ''],
        [STDERR, 'oops\n'],
      ]);
      expect(parser.pendingBytes).toBe(0);
    }
  });

  it('demultiplexes to stdout and stderr (stream 0 goes to stdout)', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const err = collect(stderr);
    const bytes = Buffer.concat([
      encodeFrame(0, 'echo;'),
      encodeFrame(STDOUT, 'out;'),
      encodeFrame(STDERR, 'err;'),
      encodeFrame(STDOUT, 'more'),
    ]);
    await demultiplex(
      chunks(bytes.subarray(0, 5), bytes.subarray(5, 17), bytes.subarray(17)),
      stdout,
      stderr,
    );
    expect(out()).toBe('echo;out;more');
    expect(err()).toBe('err;');
  });

  it('drops a truncated final frame silently', async () => {
    const stdout = new PassThrough();
    const out = collect(stdout);
    const full = encodeFrame(STDOUT, 'complete');
    const partial = encodeFrame(STDOUT, 'never finished').subarray(0, 12);
    await demultiplex(chunks(full, partial), stdout, new PassThrough());
    expect(out()).toBe('complete');
  });

  it('fails with the daemon message on a stream-3 frame', async () => {
    await expect(
      demultiplex(chunks(encodeFrame(SYSTEM_ERROR, 'container died')), new PassThrough(), new PassThrough()),
    ).rejects.toThrow('error from daemon in stream: container died');
  });

  it('refuses unframed output like docker (Unrecognized input header)', async () => {
    await expect(
      demultiplex(chunks(Buffer.from('hello world')), new PassThrough(), new PassThrough()),
    ).rejects.toThrow('Unrecognized input header: 104');
  });
});
