/**
 * Transparent decompression of layer archives. Registries serve layers gzip-compressed (sometimes
 * zstd); `docker load` and `docker import` accept plain or compressed tars. The format is told by
 * the magic bytes, as moby's DetectCompression does, never by a media type or file name.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { notSupported } from '../errors.js';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** Enough bytes for the longest magic below. */
const SNIFF_BYTES = 10;

const startsWith = (head: Buffer, magic: readonly number[]) => magic.every((byte, i) => head[i] === byte);

/** Tells the compression of a stream from its first bytes (at least 10 when the stream has them). */
export function detectCompression(head: Buffer): Compression {
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  // "BZh" + block size digit + the magic of a first block (or of the end of an empty stream): a tar
  // whose first entry is merely named "BZh…" must not be mistaken for bzip2.
  if (
    startsWith(head, [0x42, 0x5a, 0x68]) &&
    (head[3] ?? 0) >= 0x31 &&
    (head[3] ?? 0) <= 0x39 &&
    (startsWith(head.subarray(4), [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) ||
      startsWith(head.subarray(4), [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]))
  ) {
    return 'bzip2';
  }
  return 'none';
}

type Decoder = NodeJS.ReadWriteStream & Readable;

/** zstd is in node:zlib from Node 22.15 / 23.8 on; older Node has no decoder without native deps. */
function zstdDecoder(): Decoder | undefined {
  const create = (zlib as { createZstdDecompress?: () => Decoder }).createZstdDecompress;
  return create?.();
}

function decoderFor(format: Exclude<Compression, 'none'>): Decoder {
  switch (format) {
    case 'gzip':
      return zlib.createGunzip();
    case 'zstd': {
      const decoder = zstdDecoder();
      if (decoder) return decoder;
      throw notSupported(`zstd-compressed layers need Node >= 22.15 (this is ${process.version})`);
    }
    case 'bzip2':
    case 'xz':
      throw notSupported(`${format}-compressed layers are not supported yet; decompress the archive first`);
  }
}

async function* decompressChunks(input: Readable): AsyncGenerator<Buffer> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    const head: Buffer[] = [];
    let headLength = 0;
    let ended = false;
    while (headLength < SNIFF_BYTES) {
      const next = await chunks.next();
      if (next.done) {
        ended = true;
        break;
      }
      head.push(next.value);
      headLength += next.value.length;
    }
    const buffered = Buffer.concat(head);
    async function* whole(): AsyncGenerator<Buffer> {
      if (buffered.length > 0) yield buffered;
      if (ended) return;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    }

    const format = detectCompression(buffered);
    if (format === 'none') {
      yield* whole();
      return;
    }
    const decoder = decoderFor(format);
    // The decoder's output is read below; an input or decoding error destroys the decoder, which
    // ends that loop with the error, so the pipeline's own rejection carries nothing more.
    const feeding = pipeline(whole(), decoder);
    feeding.catch(() => {});
    try {
      for await (const chunk of decoder) yield chunk as Buffer;
      await feeding;
    } finally {
      decoder.destroy();
    }
  } finally {
    // Ends (and so destroys) the input when the consumer stops early or something failed.
    await chunks.return?.();
  }
}

/**
 * Returns the uncompressed bytes of `input`, which may be a plain tar or gzip-compressed (zstd
 * too on Node >= 22.15). bzip2 and xz are recognised and refused with a not-supported error.
 * Takes ownership of `input`: it is consumed, and destroyed if the result is destroyed early.
 */
export function decompressStream(input: Readable): Readable {
  const output = Readable.from(decompressChunks(input), { objectMode: false });
  // Readable.from stops the generator with return(), which waits for a pending read of `input`
  // (forever, if `input` stalls). Destroying `input` first ends that read.
  const stopGenerator = output._destroy.bind(output);
  output._destroy = (err, callback) => {
    input.destroy();
    stopGenerator(err, callback);
  };
  return output;
}
