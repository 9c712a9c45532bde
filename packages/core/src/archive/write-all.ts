/** Complete writes: the kernel may write less than asked. */
import type { FileHandle } from 'node:fs/promises';
import type { ExtractFs } from './extract-fs.js';

/** Writes all of `chunk` to `fd` through `fs`. */
export async function writeAll(fs: ExtractFs, fd: number, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) offset += await fs.write(fd, chunk, offset, chunk.length - offset);
}

/** Writes `chunks` in order to `fd` through `fs` with writev (see writeAllv). */
export function writeAllvTo(fs: ExtractFs, fd: number, chunks: readonly Buffer[]): Promise<void> {
  return writevUntilDone((buffers) => fs.writev(fd, buffers), chunks);
}

/** Writes `chunks` in order with writev, so they need not be copied into one buffer first. */
export function writeAllv(file: FileHandle, chunks: readonly Buffer[]): Promise<void> {
  return writevUntilDone(async (buffers) => (await file.writev(buffers)).bytesWritten, chunks);
}

async function writevUntilDone(
  writev: (buffers: Buffer[]) => Promise<number>,
  chunks: readonly Buffer[],
): Promise<void> {
  let rest = chunks.filter((chunk) => chunk.length > 0);
  while (rest.length > 0) {
    let bytesWritten = await writev(rest);
    let done = 0;
    while (done < rest.length && bytesWritten >= (rest[done] as Buffer).length) {
      bytesWritten -= (rest[done] as Buffer).length;
      done++;
    }
    rest = rest.slice(done);
    if (bytesWritten > 0) rest[0] = (rest[0] as Buffer).subarray(bytesWritten);
  }
}
