import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { decompressStream, detectCompression, TsdockerError } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { buildTar, collect } from './helpers.js';

describe('detectCompression / decompressStream', () => {
  it('tells formats by their magic bytes', () => {
    expect(detectCompression(gzipSync('x'))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0, 0]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0, 0, 0]))).toBe('xz');
    expect(detectCompression(Buffer.from('BZh91AY&SY'))).toBe('bzip2');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
  });

  it('does not mistake a tar whose first entry is named BZh… for bzip2', async () => {
    const tar = await buildTar([{ name: 'BZh9-notes.txt', body: 'plain' }]);
    expect(detectCompression(tar)).toBe('none');
  });

  it('passes a plain stream through and gunzips a gzip one, however it is chunked', async () => {
    const tar = await buildTar([{ name: 'f', body: 'content' }]);
    expect((await collect(decompressStream(Readable.from([tar])))).equals(tar)).toBe(true);
    const gz = gzipSync(tar);
    const oneByteChunks = Readable.from([...gz].map((b) => Buffer.from([b])));
    expect((await collect(decompressStream(oneByteChunks))).equals(tar)).toBe(true);
  });

  it('fails the stream on corrupt gzip data', async () => {
    const gz = gzipSync(Buffer.alloc(10_000, 1));
    gz.fill(0xff, 20, 40);
    await expect(collect(decompressStream(Readable.from([gz])))).rejects.toThrow();
  });

  it('destroys its input when destroyed in the middle of a gzip stream', async () => {
    const input = new Readable({ read() {} });
    input.push(gzipSync(randomBytes(100_000)).subarray(0, 20_000)); // a part: more is awaited
    const out = decompressStream(input);
    const outClosed = new Promise((resolve) => out.once('close', resolve));
    await new Promise((resolve) => out.once('data', resolve));
    out.destroy();
    await outClosed;
    expect(input.destroyed).toBe(true);
  });

  it('refuses bzip2 with a not-supported error', async () => {
    const err = await collect(decompressStream(Readable.from([Buffer.from('BZh91AY&SY....')]))).catch(
      (e) => e,
    );
    expect(TsdockerError.is(err, 'not-supported')).toBe(true);
  });

  it('destroys its input when it is destroyed, even while waiting for more input', async () => {
    const input = new Readable({ read() {} }); // never ends on its own
    input.push(Buffer.alloc(600, 1));
    const out = decompressStream(input);
    await new Promise((resolve) => out.once('data', resolve));
    const outClosed = new Promise((resolve) => out.once('close', resolve));
    out.destroy();
    await new Promise((resolve) => input.once('close', resolve));
    await outClosed;
    expect(input.destroyed).toBe(true);
  });
});
