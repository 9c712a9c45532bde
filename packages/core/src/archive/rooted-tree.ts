/**
 * Paths inside an archive root, reached without ever following a symlink. Node has no openat2
 * (RESOLVE_BENEATH) or chroot, so each ancestor of a path is checked with lstat to be a real
 * directory before anything below it is touched.
 *
 * A symlinked ancestor is refused, not resolved. Docker resolves it inside the root (it extracts in
 * a chroot); refusing is simpler to get right, and no layer Docker writes needs it, since Docker
 * records the paths it finds on disk, and those never run through a symlink.
 *
 * The checks assume nothing else changes the tree meanwhile (the layer being written or read is
 * not in use), as the rest of the layer store does.
 */
import { join } from 'node:path';
import { invalidArgument } from '../errors.js';
import { joinEntryPath } from './entry-path.js';
import { asyncExtractFs, type ExtractFs } from './extract-fs.js';

export type AncestorState =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'symlink' | 'not-dir'; at: string };

const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class RootedTree {
  /** Relative paths (`a/b`) already known to be real directories. */
  private readonly knownDirs = new Set<string>();

  /**
   * `root` must be a canonical path (realpath'd): it is trusted as is. `fs` makes the calls (the
   * sync ones in an extraction worker).
   */
  constructor(
    readonly root: string,
    private readonly fs: ExtractFs = asyncExtractFs,
  ) {}

  path(parts: readonly string[]): string {
    return parts.length === 0 ? this.root : join(this.root, ...parts);
  }

  /** Checks every ancestor of `parts` (not `parts` itself); with `create`, makes missing ones (0755). */
  async inspectAncestors(parts: readonly string[], create = false): Promise<AncestorState> {
    for (let depth = 1; depth < parts.length; depth++) {
      const rel = joinEntryPath(parts.slice(0, depth));
      if (this.knownDirs.has(rel)) continue;
      const abs = join(this.root, rel);
      try {
        const st = await this.fs.lstat(abs);
        if (st.isSymbolicLink()) return { ok: false, reason: 'symlink', at: rel };
        if (!st.isDirectory()) return { ok: false, reason: 'not-dir', at: rel };
      } catch (err) {
        if (!isNotFound(err)) throw err;
        if (!create) return { ok: false, reason: 'missing', at: rel };
        // Docker creates missing parents as 0755 directories; chmod makes that independent of umask.
        await this.fs.mkdir(abs);
        await this.fs.chmod(abs, 0o755);
      }
      this.knownDirs.add(rel);
    }
    return { ok: true };
  }

  /** Makes sure every ancestor of `parts` is a real directory, creating missing ones. */
  async prepareAncestors(parts: readonly string[], what: string): Promise<void> {
    const state = await this.inspectAncestors(parts, true);
    if (!state.ok) throw ancestorError(state, what);
  }

  /** True when every ancestor exists as a real directory, false when one is missing; throws otherwise. */
  async ancestorsExist(parts: readonly string[], what: string): Promise<boolean> {
    const state = await this.inspectAncestors(parts);
    if (state.ok) return true;
    if (state.reason === 'missing') return false;
    throw ancestorError(state, what);
  }

  /** Whether `parts` is known to be a real directory (made or checked through this tree). */
  isKnownDirectory(parts: readonly string[]): boolean {
    return parts.length === 0 || this.knownDirs.has(joinEntryPath(parts));
  }

  /** Records that `parts` is now a real directory. */
  markDirectory(parts: readonly string[]): void {
    if (parts.length > 0) this.knownDirs.add(joinEntryPath(parts));
  }

  /** Forgets what was known at and below `parts`, after it was removed or replaced. */
  forget(parts: readonly string[]): void {
    const rel = joinEntryPath(parts);
    if (rel === '') {
      this.knownDirs.clear();
      return;
    }
    const prefix = `${rel}/`;
    for (const known of this.knownDirs) {
      if (known === rel || known.startsWith(prefix)) this.knownDirs.delete(known);
    }
  }
}

function ancestorError(state: Exclude<AncestorState, { ok: true }>, what: string) {
  switch (state.reason) {
    case 'symlink':
      return invalidArgument(`${what}: parent "${state.at}" is a symlink; refusing to go through it`);
    case 'not-dir':
      return invalidArgument(`${what}: parent "${state.at}" is not a directory`);
    case 'missing':
      return invalidArgument(`${what}: parent "${state.at}" does not exist`);
  }
}
