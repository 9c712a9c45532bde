/**
 * A tar of a directory tree, for `docker export`, `docker cp` out of a container and the naive
 * diff of a base layer (moby's TarWithOptions). Entries come in a deterministic order: each
 * directory before its children, children sorted by name.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { invalidArgument, notFound } from '../errors.js';
import { joinEntryPath, splitEntryPath } from './entry-path.js';
import { RootedTree } from './rooted-tree.js';
import { type LayerTarWriter, tarStream } from './tar-writer.js';

export interface PackDirectoryOptions {
  /**
   * Paths below the root to archive (files or directories, recursively), relative (`etc/hosts`).
   * Default: the whole tree. The root itself is never an entry, as in `docker export`.
   */
  includePaths?: string[];
  /**
   * Renames the single included path in the archive (`docker cp ctr:/etc/hosts ./h` packs
   * `etc/hosts` as `h`). With the whole tree included, every name gets `<rebaseName>/` in front
   * and the root becomes the directory entry `<rebaseName>/`.
   */
  rebaseName?: string;
}

const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Streams `root` as a tar. Bad options throw at once (invalid-argument); an included path that is
 * missing or reached through a symlink fails the stream. Symlinks are stored, never followed.
 */
export function packDirectory(root: string, opts: PackDirectoryOptions = {}): Readable {
  const includes = normalizeIncludes(opts.includePaths ?? ['.']);
  let rebase: string[] | undefined;
  if (opts.rebaseName !== undefined) {
    rebase = splitEntryPath(opts.rebaseName, 'rebaseName');
    if (rebase.length === 0) throw invalidArgument('rebaseName must name something');
    if (includes.length !== 1) throw invalidArgument('rebaseName needs exactly one path in includePaths');
  }

  return tarStream(async (writer) => {
    const tree = new RootedTree(await realpath(root));
    for (const parts of includes) {
      const what = `path "${joinEntryPath(parts) || '.'}"`;
      if (!(await tree.ancestorsExist(parts, what))) throw notFound(`${what} does not exist in ${root}`);
      const abs = tree.path(parts);
      const st = await lstat(abs).catch((err: unknown) => {
        throw isNotFound(err) ? notFound(`${what} does not exist in ${root}`) : err;
      });
      const name = joinEntryPath(rebase ?? parts);
      await packTree(writer, abs, name === '' ? null : name, st);
    }
  });
}

/** Validates the include paths, drops duplicates and paths inside another included one. */
function normalizeIncludes(paths: string[]): string[][] {
  const all = paths.map((p) => splitEntryPath(p, `includePaths entry "${p}"`));
  all.sort((a, b) => a.length - b.length);
  const kept: string[][] = [];
  for (const parts of all) {
    const covered = kept.some((k) => k.length <= parts.length && k.every((part, i) => parts[i] === part));
    if (!covered) kept.push(parts);
  }
  return kept.sort((a, b) => (joinEntryPath(a) < joinEntryPath(b) ? -1 : 1));
}

/** Writes `abs` as `name` (nothing for the unnamed root), then what is below it. */
async function packTree(writer: LayerTarWriter, abs: string, name: string | null, st: Stats): Promise<void> {
  if (name !== null) await writer.add(abs, name, st);
  if (!st.isDirectory()) return;
  const children = (await readdir(abs)).sort();
  for (const child of children) {
    const childAbs = join(abs, child);
    let childSt: Stats;
    try {
      childSt = await lstat(childAbs);
    } catch (err) {
      if (isNotFound(err)) continue; // removed meanwhile (a running container's tree)
      throw err;
    }
    await packTree(writer, childAbs, name === null ? child : `${name}/${child}`, childSt);
  }
}
