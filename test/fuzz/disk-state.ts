/**
 * A fingerprint of the daemon's persistent state: every container and image store file under
 * the data root (inode, size and modification time, so even a rewrite with the same content
 * shows, and atomic replacements show as a new inode), plus the set of layer directories of the
 * graph driver. Layer contents and container logs are left out: the first are large and only
 * ever written with the layer records that are in here, the second change whenever a container
 * prints.
 */
import { type Dirent, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export type DiskState = Map<string, string>;

function walk(
  root: string,
  dir: string,
  out: DiskState,
  skip: (rel: string) => 'skip' | 'names-only' | 'walk',
): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    // Removed while we looked: the next snapshot tells.
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const rel = relative(root, path);
    const rule = skip(rel);
    if (rule === 'skip') continue;
    if (entry.isDirectory()) {
      out.set(`${rel}/`, 'dir');
      if (rule === 'walk') walk(root, path, out, skip);
      continue;
    }
    try {
      const st = statSync(path, { bigint: true });
      out.set(rel, `${st.ino}:${st.size}:${st.mtimeNs}`);
    } catch {
      // Replaced by an atomic rename while we read it: the next snapshot tells.
    }
  }
}

export function snapshotState(dataRoot: string): DiskState {
  const out: DiskState = new Map();
  if (!existsSync(dataRoot)) return out;
  walk(dataRoot, dataRoot, out, (rel) => {
    if (rel.endsWith('-json.log')) return 'skip';
    // The graph driver's layer trees: which layers exist, not what is in them.
    if (/^[^/]+\/dir\/[^/]+$/.test(rel)) return 'names-only';
    if (/\/layerdb\/tmp(\/|$)/.test(rel) || /^[^/]+\/staging(\/|$)/.test(rel)) return 'skip';
    return 'walk';
  });
  return out;
}

/** The differences, one line each (`+ path`, `- path`, `~ path`). */
export function diffStates(before: DiskState, after: DiskState): string[] {
  const lines: string[] = [];
  for (const [path, hash] of after) {
    const old = before.get(path);
    if (old === undefined) lines.push(`+ ${path}`);
    else if (old !== hash) lines.push(`~ ${path}`);
  }
  for (const path of before.keys()) if (!after.has(path)) lines.push(`- ${path}`);
  return lines.sort();
}
