/**
 * Layer ids become directory names next to the driver's own `l/` directory, so only plain names
 * are accepted: no separators, no leading dot (`.`, `..`, hidden names, which the driver uses for
 * its scratch directories), no NUL, nothing longer than a file name may be, and not `l`. The
 * daemon's cache ids (64 hex digits) and names like `<id>-init` fit.
 */
import { invalidArgument } from '@tsdocker/core';

const LAYER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAX_NAME_BYTES = 255;
/** The directory of short lower links (moby's linkDir). */
export const LINK_DIR = 'l';

export function assertLayerId(id: string, what = 'layer id'): void {
  if (typeof id !== 'string' || !LAYER_ID.test(id) || Buffer.byteLength(id) > MAX_NAME_BYTES) {
    throw invalidArgument(`invalid ${what} ${JSON.stringify(id)}: expected letters, digits, '_', '.' or '-'`);
  }
  if (id === LINK_DIR) throw invalidArgument(`invalid ${what} "${id}": the name is reserved by overlay2`);
}
