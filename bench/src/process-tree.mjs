/**
 * The process table from /proc: parents, children, descendants. Processes are found by their
 * parent links (and container init pids from `docker inspect`), never by guessing names.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** @returns {Map<number, number>} pid → ppid for every live process */
export function parentMap() {
  /** @type {Map<number, number>} */
  const map = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The comm field may hold spaces and parentheses: the state and ppid follow the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      map.set(Number(name), Number(rest[1]));
    } catch {
      // exited while we looked
    }
  }
  return map;
}

/** @param {Map<number, number>} parents @returns {Map<number, number[]>} */
export function childrenMap(parents) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  return children;
}

/**
 * `roots` and every process below them.
 * @param {number[]} roots
 * @param {Map<number, number[]>} [children]
 * @returns {Set<number>}
 */
export function descendants(roots, children = childrenMap(parentMap())) {
  const out = new Set();
  const stack = [...roots];
  while (stack.length) {
    const pid = /** @type {number} */ (stack.pop());
    if (out.has(pid)) continue;
    out.add(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone. @param {number} pid */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** @param {number} pid */
export function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** Namespace inode ids (`net:[4026…]`) a process is in, for leak checks. @param {number} pid */
export function namespacesOf(pid) {
  /** @type {string[]} */
  const out = [];
  for (const ns of ['mnt', 'net', 'pid', 'ipc', 'uts', 'cgroup']) {
    try {
      out.push(readlinkSync(`/proc/${pid}/ns/${ns}`));
    } catch {
      // gone, or this kernel lacks the namespace
    }
  }
  return out;
}
