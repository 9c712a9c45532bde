/**
 * Layer ids become directory names, so only plain names are accepted: no separators, no leading
 * dot (`.`, `..`, hidden names), no NUL, nothing longer than a file name may be. The daemon's
 * cache ids (64 hex digits) and names like `<id>-init` fit.
 */
import { invalidArgument } from '@tsdocker/core';

const LAYER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAX_NAME_BYTES = 255;

export function assertLayerId(id: string, what = 'layer id'): void {
  if (typeof id !== 'string' || !LAYER_ID.test(id) || Buffer.byteLength(id) > MAX_NAME_BYTES) {
    throw invalidArgument(`invalid ${what} ${JSON.stringify(id)}: expected letters, digits, '_', '.' or '-'`);
  }
}
