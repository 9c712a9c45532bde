/**
 * Tests unmount what they mounted by their own paths, whatever the driver did: every mount at or
 * below a test's temp root is lazily detached, deepest first, before the root is removed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';

/** Mount points at or below `root`, deepest first (from /proc/self/mountinfo). */
export function mountsBelow(root: string): string[] {
  const dir = realpathSync(root);
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(decode)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything at or below `root`; returns what was still mounted. */
export function unmountBelow(root: string): string[] {
  let left: string[];
  try {
    left = mountsBelow(root);
  } catch {
    return []; // the root is gone already
  }
  for (const path of left) spawnSync('umount', ['-l', path]);
  return left;
}
