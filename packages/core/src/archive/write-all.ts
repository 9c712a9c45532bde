/** Complete writes through a file handle: the kernel may write less than asked. */
import type { FileHandle } from 'node:fs/promises';

export async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Writes `chunks` in order with writev, so they need not be copied into one buffer first. */
export async function writeAllv(file: FileHandle, chunks: readonly Buffer[]): Promise<void> {
  let rest = chunks.filter((chunk) => chunk.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest);
    let done = 0;
    while (done < rest.length && bytesWritten >= (rest[done] as Buffer).length) {
      bytesWritten -= (rest[done] as Buffer).length;
      done++;
    }
    rest = rest.slice(done);
    if (bytesWritten > 0) rest[0] = (rest[0] as Buffer).subarray(bytesWritten);
  }
}
