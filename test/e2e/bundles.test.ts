/**
 * The built bundles hold only Latin-1 characters. V8 keeps every module's source text for as
 * long as the process lives (lazy compilation, Function.prototype.toString), and one character
 * above U+00FF anywhere in a file (an arrow in a comment esbuild keeps, a Greek mu in a regex)
 * makes it keep the whole file as a two-byte string: for core alone ~330 KiB more of the idle
 * daemon's heap. Write such characters as \u escapes in code, and in plain ASCII in comments.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const PACKAGES = join(import.meta.dirname, '..', '..', 'packages');

async function bundles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await bundles(path)));
    else if (entry.name.endsWith('.js')) found.push(path);
  }
  return found;
}

it('ships bundles V8 can keep as one-byte strings', async () => {
  const files: string[] = [];
  for (const pkg of await readdir(PACKAGES)) files.push(...(await bundles(join(PACKAGES, pkg, 'dist'))));
  // Every package is built before the tests run (scripts/setup.sh): an empty list is a broken setup.
  expect(files.length).toBeGreaterThan(7);
  const offenders: string[] = [];
  for (const file of files) {
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
      if (/[^\u0000-\u00ff]/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim().slice(0, 100)}`);
    });
  }
  expect(offenders).toEqual([]);
});
