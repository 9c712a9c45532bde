import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { GrowingFile } from '../../src/archive/growing-file.js';
import { ArchiveSpool } from '../../src/image/archive-spool.js';
import { buildTar, useTempRoots } from './helpers.js';

describe('ArchiveSpool followers', () => {
  const tempRoot = useTempRoots();

  /** An outer archive with one 4 KiB file, delivered so its body starts with a 10-byte piece. */
  async function cutArchive(): Promise<{ pieces: Buffer[]; body: Buffer }> {
    const body = Buffer.alloc(4096, 'x');
    const archive = await buildTar([{ name: 'layer.tar', body }]);
    const start = 512; // the entry's header, then its body
    return {
      body,
      pieces: [
        archive.subarray(0, start + 10),
        archive.subarray(start + 10, start + 20),
        archive.subarray(start + 20),
      ],
    };
  }

  it('shows a follower at least the first 512 bytes, however the upload was cut', async () => {
    const dir = await tempRoot();
    const { pieces, body } = await cutArchive();
    const seen: Array<{ path: string; head: number }> = [];
    let followed: GrowingFile | null = null;
    const spool = await ArchiveSpool.fill(
      Readable.from(pieces, { objectMode: false }),
      dir,
      (entry, file) => {
        seen.push({ path: entry.path, head: entry.head.length });
        followed = file;
        return { digest: true };
      },
    );
    expect(seen).toEqual([{ path: 'layer.tar', head: expect.any(Number) }]);
    expect(seen[0]?.head).toBeGreaterThanOrEqual(512);
    // The spool hashed the whole file for it, head included, and the follower saw it complete.
    const spooled = spool.find('layer.tar', 'test');
    const { createHash } = await import('node:crypto');
    expect(spooled?.digest).toBe(`sha256:${createHash('sha256').update(body).digest('hex')}`);
    expect(await (followed as unknown as GrowingFile).whole()).toEqual({
      written: 4096,
      digest: spooled?.digest,
    });
    expect((await readFile(join(dir, '0'))).equals(body)).toBe(true);
  });

  it('a follower that declines leaves the file unhashed (not a blob)', async () => {
    const dir = await tempRoot();
    const { pieces } = await cutArchive();
    const spool = await ArchiveSpool.fill(Readable.from(pieces, { objectMode: false }), dir, () => null);
    expect(spool.find('layer.tar', 'test')?.digest).toBeNull();
  });
});
