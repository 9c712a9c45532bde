/**
 * Docker's (AUFS-born) whiteout convention, used by every layer tar: an empty file `.wh.<name>`
 * deletes `<name>` of the layers below, and `.wh..wh..opq` in a directory hides everything the
 * layers below had in it.
 */

export const WHITEOUT_PREFIX = '.wh.';
/** Names with this prefix at the root are AUFS bookkeeping (`.wh..wh.plnk`, …), never content. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE_DIR = '.wh..wh..opq';

/**
 * overlayfs's own form of the same: a whiteout is a 0:0 character device named like what it
 * deletes, and an opaque directory carries this xattr with the value `y`.
 */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** True for an overlayfs whiteout: a character device numbered 0:0. */
export const isOverlayWhiteout = (st: { isCharacterDevice(): boolean; rdev: number | bigint }): boolean =>
  st.isCharacterDevice() && BigInt(st.rdev) === 0n;

export type Whiteout = { kind: 'opaque' } | { kind: 'remove'; name: string } | null;

/** Classifies the last component of an entry name. */
export function parseWhiteout(base: string): Whiteout {
  if (base === WHITEOUT_OPAQUE_DIR) return { kind: 'opaque' };
  if (base.startsWith(WHITEOUT_PREFIX)) return { kind: 'remove', name: base.slice(WHITEOUT_PREFIX.length) };
  return null;
}

/** The whiteout entry name that deletes `name` in directory `dir` (`''` for the root). */
export const whiteoutEntryName = (dir: string, name: string): string =>
  dir === '' ? `${WHITEOUT_PREFIX}${name}` : `${dir}/${WHITEOUT_PREFIX}${name}`;
