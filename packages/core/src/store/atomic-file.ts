/**
 * Crash-safe state files. A write goes to a temp file in the same directory, is fsynced, renamed
 * over the target and the directory is fsynced, so a reader (or a daemon restarting after a
 * power cut) sees either the old content or the new, never a torn file (moby's atomicwriter; the
 * empty-`key.json`-after-power-loss class of bugs).
 *
 * Temp files carry a fixed prefix so start-up can sweep the ones a crash left behind
 * (`removeStaleTempFiles`).
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Prefix of every temp file or directory the stores create; never a valid state-file name. */
export const TEMP_PREFIX = '.tmp-';

/** Default cap for state files read back into memory (configs, indexes): 4 MiB. */
export const DEFAULT_MAX_STATE_FILE_BYTES = 4 * 1024 * 1024;

/** True for names made by `tempPathFor` (and by `makeTempName`). */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** A fresh temp name for `label` (`.tmp-<label>-<random>`). */
export function makeTempName(label: string): string {
  return `${TEMP_PREFIX}${label}-${randomBytes(8).toString('hex')}`;
}

/** A temp path next to `path`, so the final rename never crosses filesystems. */
export function tempPathFor(path: string): string {
  return join(dirname(path), makeTempName(basename(path)));
}

/** fsyncs a directory so a rename or unlink inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface AtomicWriteOptions {
  /**
   * fsync the file before the rename and the directory after it (default true). Files rebuilt
   * from scratch on every use (a container's /etc/hosts, made at each start) pass false: they
   * stay atomic for readers, and a power cut that tears one only costs a rewrite, not state.
   */
  durable?: boolean;
}

/** Writes `data` to `path` atomically with permission bits `mode` (default 0644). */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const durable = opts.durable ?? true;
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(data);
      // open()'s mode is filtered by the umask; state files need exactly `mode`.
      await fh.chmod(mode);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  if (durable) await fsyncDir(dirname(path));
}

/** `writeFileAtomic` of `JSON.stringify(value)`. */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  mode = 0o644,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value), mode, opts);
}

/** Raised when a state file is larger than the reader allows; never parsed. */
export class FileTooLargeError extends Error {
  constructor(
    readonly path: string,
    readonly maxBytes: number,
  ) {
    super(`${path}: file is larger than ${maxBytes} bytes`);
    this.name = 'FileTooLargeError';
  }
}

/** Reads a whole file, refusing (without reading it all) one larger than `maxBytes`. */
export async function readFileCapped(path: string, maxBytes = DEFAULT_MAX_STATE_FILE_BYTES): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) throw new FileTooLargeError(path, maxBytes);
    // Read one byte past the cap: the file may have grown since stat.
    const buf = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > maxBytes) throw new FileTooLargeError(path, maxBytes);
    return buf.subarray(0, filled);
  } finally {
    await fh.close();
  }
}

/** Anything with zod's `parse` shape; keeps this module free of a schema library. */
export interface Parser<T> {
  parse(value: unknown): T;
}

/**
 * Reads and parses a JSON state file (capped at `maxBytes`), then validates it with `schema`.
 * Errors name the file; callers decide whether a bad file is fatal or skipped.
 */
export async function readJsonFile<T = unknown>(
  path: string,
  schema?: Parser<T>,
  maxBytes = DEFAULT_MAX_STATE_FILE_BYTES,
): Promise<T> {
  const raw = await readFileCapped(path, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new Error(`${path}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!schema) return value as T;
  try {
    return schema.parse(value);
  } catch (err) {
    throw new Error(`${path}: unexpected content: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Deletes temp files and directories (see `TEMP_PREFIX`) directly inside `dir`, left there by a
 * write that a crash interrupted. Returns the names removed; a missing `dir` is not an error.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isTempName(name)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
