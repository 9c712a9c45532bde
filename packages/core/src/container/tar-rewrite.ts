/**
 * Re-encoding a tar stream entry by entry with tar-stream, so that `docker cp` can check and
 * adjust what passes (the owner an upload gets, entry names Docker writes differently from core's
 * packer) without ever holding an entry in memory.
 */
import { Readable } from 'node:stream';
import type { Header, Pack } from 'tar-stream';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import { drained } from '../archive/tar-writer.js';

/** A header as written (tar-stream fills in what is left out); PAX records as strings. */
export type EntryHeader = Partial<Omit<Header, 'pax'>> &
  Pick<Header, 'name'> & { pax?: Record<string, string> | null };

/** Returns the header to write for an entry, or throws to fail the stream. */
export type HeaderEdit = (header: EntryHeader) => EntryHeader | Promise<EntryHeader>;

const EMPTY = Buffer.alloc(0);
/**
 * tar-stream's packer turns a zero mode into 0644/0755. A file-type bit keeps the value non-zero;
 * only the permission bits are encoded, so the entry still says 0000.
 */
const ZERO_MODE = 0o100000;

/** PAX records tar-stream already folded into the header; kept, they would undo a rename. */
function withoutFoldedPax(pax: Record<string, string> | null | undefined): Record<string, string> | null {
  if (!pax) return null;
  const { path: _path, linkpath: _linkpath, size: _size, ...rest } = pax;
  return Object.keys(rest).length > 0 ? rest : null;
}

/**
 * Passes `input` (a plain tar) through, each header edited by `edit`; `prelude` entries (without
 * bodies: directories, symlinks) come first. Destroying the result destroys `input`.
 */
export function rewriteTar(input: Readable, edit: HeaderEdit, prelude: EntryHeader[] = []): Readable {
  const parser = tarExtract();
  const pack = tarPack();
  // The iterator must exist before data flows: tar-stream drops entries nobody listens for.
  const entries = parser[Symbol.asyncIterator]();
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  const out = Readable.from(pack, { objectMode: false });
  out.on('close', () => {
    if (!out.readableEnded) {
      input.destroy();
      parser.destroy();
    }
  });

  (async () => {
    for (const header of prelude) await addEntry(pack, header, null);
    for (let next = await entries.next(); !next.done; next = await entries.next()) {
      const entry = next.value;
      const pax = entry.header.pax as Record<string, string> | null | undefined;
      const header = await edit({ ...entry.header, pax: withoutFoldedPax(pax) });
      await addEntry(pack, header, entry);
    }
    pack.finalize();
  })().catch((err: unknown) => {
    parser.destroy();
    input.destroy();
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  return out;
}

/** Writes one entry, streaming its body (if it has one) with back-pressure. */
type EntryBody = AsyncIterable<unknown> & { resume(): unknown };

async function addEntry(pack: Pack, header: EntryHeader, body: EntryBody | null): Promise<void> {
  const h: EntryHeader = { ...header, mode: header.mode || ZERO_MODE };
  if (h.pax === null) delete h.pax;
  const hasBody = (h.type === 'file' || h.type === 'contiguous-file') && (h.size ?? 0) > 0 && body;
  if (!hasBody) {
    body?.resume(); // drains it, so the parser moves on
    await new Promise<void>((resolve, reject) => {
      pack.entry(h, EMPTY, (err) => (err ? reject(err) : resolve()));
    });
    return;
  }
  let settle: (err?: Error | null) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  done.catch(() => {}); // awaited below; a failure also surfaces through the writes
  const sink = pack.entry(h, (err) => settle(err));
  for await (const chunk of body) {
    if (!sink.write(chunk as Buffer)) await drained(sink);
  }
  sink.end(null);
  await done;
}
