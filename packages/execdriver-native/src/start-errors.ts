/**
 * Turns a shim `error` line into the TsdockerError core expects. The message is kept verbatim:
 * Docker's CLI picks exit codes from its wording (`executable file not found` → 127,
 * `permission denied` / `is a directory` → 126).
 */
import { conflict, internal, invalidArgument, type TsdockerError } from '@tsdocker/core';

export function startError(message: string): TsdockerError {
  // The command itself is wrong (missing, not executable): the caller's mistake.
  if (/^exec[: ]/.test(message)) return invalidArgument(message);
  if (message.includes('container is not running')) return conflict(message);
  return internal(message);
}
