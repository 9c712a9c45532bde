/**
 * Short names for layers' diff directories (moby's overlayutils.GenerateID): `l/<link>` is a
 * symlink to `../<id>/diff`, and lower chains name layers by these links, so that the mount
 * options of a 128-layer chain stay under the kernel's one-page limit.
 */
import { randomBytes } from 'node:crypto';

/** 26 base32 characters: `(26 + "l/".length + ":".length) * 128` leaves room in a 4 KiB page. */
export const LINK_ID_LENGTH = 26;
export const LINK_ID = /^[A-Z2-7]{26}$/;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A fresh random link name (130 random bits, RFC 4648 base32 alphabet). */
export function generateLinkId(): string {
  const bytes = randomBytes(17); // 136 bits, enough for 26 five-bit characters
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < LINK_ID_LENGTH) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}
