/**
 * Kernel-side state a daemon makes under the roots and names the bench gives it: mounts below a
 * directory, cgroups below a parent name, files in an exec root. Used to clean up by our own
 * names and to count leaks (before/after snapshots).
 */
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { runSync } from './commands.mjs';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Decodes the octal escapes (\040 for space…) of /proc/self/mountinfo fields. */
const unescapeField = (/** @type {string} */ s) =>
  s.replace(/\\([0-7]{3})/g, (/** @type {string} */ _, /** @type {string} */ o) =>
    String.fromCharCode(Number.parseInt(o, 8)),
  );

/**
 * Mounts whose mount point is `root` or below it, as "<mount point> <fstype>", deepest last.
 * @param {string} root
 */
export function mountsUnder(root) {
  /** @type {string[]} */
  const out = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const point = unescapeField(fields[4]);
    const sep = fields.indexOf('-');
    const fstype = fields[sep + 1];
    if (point === root || point.startsWith(`${root}/`)) out.push(`${point} ${fstype}`);
  }
  return out;
}

/** Lazily unmounts everything below `root`, deepest first. @param {string} root @returns {number} mounts removed */
export function unmountUnder(root) {
  let removed = 0;
  for (let pass = 0; pass < 5; pass++) {
    const points = mountsUnder(root)
      .map((m) => m.slice(0, m.lastIndexOf(' ')))
      .sort((a, b) => b.length - a.length);
    if (points.length === 0) break;
    for (const p of points) if (runSync('umount', ['-l', p]).code === 0) removed++;
  }
  return removed;
}

/**
 * Every cgroup directory named `name` in any hierarchy (v1 controllers, the v2 tree), up to a few
 * levels deep (dockerd places a relative parent below its own cgroup, e.g. memory/<ours>/<name>).
 * @param {string} name
 * @returns {string[]}
 */
export function findCgroupDirs(name) {
  /** @type {string[]} */
  const out = [];
  /** @param {string} dir @param {number} depth */
  const walk = (dir, depth) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (e.name === name) out.push(path);
      else if (depth < 4) walk(path, depth + 1);
    }
  };
  walk(CGROUP_ROOT, 0);
  return out;
}

/** Child cgroups (containers) below every `name` dir, as paths. @param {string} name */
export function cgroupChildren(name) {
  /** @type {string[]} */
  const out = [];
  for (const dir of findCgroupDirs(name)) {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) out.push(join(dir, e.name));
  }
  return out.sort();
}

/**
 * SIGKILLs every process in the cgroups named `name` and below (the last resort for container
 * processes whose daemon and shim are gone). @param {string} name @returns {number} processes killed
 */
export function killCgroupProcesses(name) {
  let killed = 0;
  /** @param {string} dir */
  const walk = (dir) => {
    let procs = '';
    try {
      procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      // not a cgroup dir, or gone
    }
    for (const pid of procs.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
        killed++;
      } catch {
        // exited
      }
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const dir of findCgroupDirs(name)) walk(dir);
  return killed;
}

/**
 * Removes every cgroup named `name` and the cgroups below it, deepest first. A cgroup that still
 * holds processes cannot be removed; it is reported.
 * @param {string} name
 * @returns {string[]} cgroups that could not be removed
 */
export function removeCgroups(name) {
  /** @type {string[]} */
  const failed = [];
  /** @param {string} dir */
  const removeTree = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) removeTree(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch (err) {
      failed.push(`${dir}: ${/** @type {Error} */ (err).message}`);
    }
  };
  for (const dir of findCgroupDirs(name)) if (existsSync(dir)) removeTree(dir);
  return failed;
}

/**
 * Paths below `root` up to `depth` levels, for before/after comparison of runtime state.
 * @param {string} root @param {number} depth
 */
export function listTree(root, depth) {
  /** @type {string[]} */
  const out = [];
  /** @param {string} rel @param {number} level */
  const walk = (rel, level) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      out.push(path);
      if (e.isDirectory() && !e.isSymbolicLink() && level < depth) walk(path, level + 1);
    }
  };
  walk('', 1);
  return out.sort();
}
