/**
 * Writing layer tars from a directory tree, entry by entry, as moby's tarAppender does: numeric
 * owners only, names relative to the root (directories end in `/`), symlinks stored not followed,
 * regular files with several links written once and then as hardlinks to the first name.
 */
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Header, Pack } from 'tar-stream';
import { pack as tarPack } from 'tar-stream';
import { splitDeviceNumber } from './special-files.js';

type EntryHeader = Partial<Header> & Pick<Header, 'name'>;

/** The largest id the classic header's 7 octal digits hold; larger ones go in PAX records. */
const MAX_OCTAL_ID = 0o7777777;
const EMPTY = Buffer.alloc(0);
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

export class LayerTarWriter {
  /** First archive name of each multiply-linked regular file, by dev:ino. */
  private readonly namesByInode = new Map<string, string>();

  constructor(private readonly pack: Pack) {}

  /**
   * Adds the file at `path` (not what is below it) as `name`, given its lstat. Sockets are
   * skipped, as Docker does.
   */
  async add(path: string, name: string, st: Stats): Promise<void> {
    const header: EntryHeader = {
      name,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
    };
    if (st.uid > MAX_OCTAL_ID || st.gid > MAX_OCTAL_ID) {
      header.pax = { uid: String(st.uid), gid: String(st.gid) };
    }
    if (st.isDirectory()) {
      await this.write({ ...header, name: name.endsWith('/') ? name : `${name}/`, type: 'directory' });
    } else if (st.isSymbolicLink()) {
      await this.write({ ...header, type: 'symlink', linkname: await readlink(path) });
    } else if (st.isFile()) {
      const inode = `${st.dev}:${st.ino}`;
      const firstName = st.nlink > 1 ? this.namesByInode.get(inode) : undefined;
      if (firstName !== undefined) {
        await this.write({ ...header, type: 'link', linkname: firstName, size: 0 });
        return;
      }
      if (st.nlink > 1) this.namesByInode.set(inode, name);
      await this.writeFile({ ...header, type: 'file', size: st.size }, path);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const { major, minor } = splitDeviceNumber(st.rdev);
      const type = st.isCharacterDevice() ? 'character-device' : 'block-device';
      await this.write({ ...header, type, devmajor: major, devminor: minor });
    } else if (st.isFIFO()) {
      await this.write({ ...header, type: 'fifo' });
    }
  }

  /** Adds an empty whiteout entry (`dir/.wh.name`). Its time is the epoch, to keep diffs reproducible. */
  async addWhiteout(name: string): Promise<void> {
    await this.write({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: new Date(0) });
  }

  private write(header: EntryHeader): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry(header, EMPTY, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Streams exactly `header.size` bytes; a file that changed size meanwhile fails the entry. */
  private async writeFile(header: EntryHeader, path: string): Promise<void> {
    const size = header.size ?? 0;
    if (size === 0) return this.write(header);
    const file = await open(path, READ_FLAGS);
    try {
      let settle: (err?: Error | null) => void = () => {};
      const done = new Promise<void>((resolve, reject) => {
        settle = (err) => (err ? reject(err) : resolve());
      });
      done.catch(() => {}); // awaited below; errors also surface through the writes
      const sink = this.pack.entry(header, (err) => settle(err));
      for await (const chunk of file.createReadStream({ start: 0, end: size - 1, autoClose: false })) {
        if (!sink.write(chunk as Buffer)) await drained(sink);
      }
      sink.end(null);
      await done;
    } finally {
      await file.close();
    }
  }
}

/** Waits until a tar entry's sink takes more data; rejects if the tar fails or closes first. */
export function drained(sink: ReturnType<Pack['entry']>): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the tar stream closed while an entry was written'));
    };
    sink.on('drain', onDrain);
    sink.on('error', onError);
    sink.on('close', onClose);
  });
}

/**
 * Runs `produce` against a fresh tar and returns the tar as a byte stream. A failure of `produce`
 * becomes an error of the stream; destroying the stream early stops `produce` at its next entry.
 */
export function tarStream(produce: (writer: LayerTarWriter) => Promise<void>): Readable {
  const pack = tarPack();
  produce(new LayerTarWriter(pack)).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return Readable.from(pack, { objectMode: false });
}
