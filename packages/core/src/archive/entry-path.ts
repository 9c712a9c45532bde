/**
 * Names inside layer archives. An entry's name is relative to the layer's root (`etc/passwd`,
 * `./etc/passwd`, `etc/` for a directory); anything that could point elsewhere is refused outright
 * rather than cleaned up, since no archive Docker writes contains it.
 */
import { invalidArgument } from '../errors.js';

/**
 * Splits an entry name into its components below the root (`[]` for the root itself: `.`, `./`).
 * Refuses absolute names, `..` components and NUL bytes; `what` names the entry in the error.
 */
export function splitEntryPath(name: string, what: string): string[] {
  if (name.includes('\0')) throw invalidArgument(`${what}: NUL byte in path ${JSON.stringify(name)}`);
  if (name.startsWith('/')) throw invalidArgument(`${what}: absolute path "${name}" is not allowed`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw invalidArgument(`${what}: ".." in path "${name}" is not allowed`);
    parts.push(part);
  }
  return parts;
}

/** Joins components back into an archive name (`''` for the root). */
export const joinEntryPath = (parts: readonly string[]): string => parts.join('/');
