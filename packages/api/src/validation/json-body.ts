/**
 * Structural checks on decoded JSON bodies that no per-field schema expresses: nesting depth
 * (validators and serialisers recurse; a body of 100 000 nested arrays must be a 400, not a
 * stack overflow) and NUL bytes (argv, environment, paths and names go to the kernel as C
 * strings, where a NUL silently truncates). A failure names the field.
 */
import { invalidArgument } from '../http-status.js';

/** Docker's create body nests about six levels deep; this leaves room for every real client. */
export const MAX_JSON_DEPTH = 32;

function fieldName(path: Array<string | number>): string {
  let name = '';
  for (const part of path) name += typeof part === 'number' ? `[${part}]` : name === '' ? part : `.${part}`;
  return name || '(body)';
}

/** Walks `value` iteratively; throws invalid-argument at the first problem, naming its field. */
export function checkJsonStructure(value: unknown): void {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: Array<string | number> };
    const { path } = item;
    if (typeof item.value === 'string') {
      if (item.value.includes('\0'))
        throw invalidArgument(`invalid value for ${fieldName(path)}: must not contain NUL bytes`);
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (path.length >= MAX_JSON_DEPTH) {
      throw invalidArgument(
        `invalid JSON: ${fieldName(path)} is nested more than ${MAX_JSON_DEPTH} levels deep`,
      );
    }
    if (Array.isArray(item.value)) {
      item.value.forEach((child, index) => {
        stack.push({ value: child, path: [...path, index] });
      });
      continue;
    }
    for (const [key, child] of Object.entries(item.value)) {
      if (key.includes('\0'))
        throw invalidArgument(`invalid JSON: a key in ${fieldName(path)} contains a NUL byte`);
      stack.push({ value: child, path: [...path, key] });
    }
  }
}
