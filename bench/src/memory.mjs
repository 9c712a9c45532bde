/**
 * Memory of a group of processes, three ways:
 * - RSS: VmRSS from /proc/<pid>/status, summed (shared pages counted once per process);
 * - PSS: Pss from /proc/<pid>/smaps_rollup, summed (a page shared by k processes counts 1/k —
 *   also when the other sharers are outside the group, e.g. other node processes on the machine);
 * - distinct pages: the number of different physical pages mapped by the group, from
 *   /proc/<pid>/pagemap (each page counted once, whoever else maps it; needs root).
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const PAGE = 4096;
const CHUNK_PAGES = 65536; // 512 KiB of pagemap per read
const pagemapBuffer = Buffer.alloc(CHUNK_PAGES * 8);

/** @param {number} pid @param {string} file @param {string} key @returns {number} bytes (0 if gone) */
function kbField(pid, file, key) {
  try {
    const text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
    const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** @param {number} pid */
export const rssOf = (pid) => kbField(pid, 'status', 'VmRSS');
/** @param {number} pid */
export const pssOf = (pid) => kbField(pid, 'smaps_rollup', 'Pss');

/**
 * Adds the physical frame numbers of `pid`'s resident pages to `frames`.
 * @param {number} pid @param {Set<number>} frames
 */
function addFrames(pid, frames) {
  let maps;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return;
  }
  let fd;
  try {
    fd = openSync(`/proc/${pid}/pagemap`, 'r');
  } catch {
    return;
  }
  try {
    for (const line of maps.split('\n')) {
      const m = line.match(/^([0-9a-f]+)-([0-9a-f]+) (\S{4})/);
      if (!m) continue;
      if (m[3].startsWith('---')) continue; // reserved address space: never resident
      if (line.endsWith('[vsyscall]')) continue; // not in pagemap
      const start = Number.parseInt(m[1], 16) / PAGE;
      const pages = (Number.parseInt(m[2], 16) - Number.parseInt(m[1], 16)) / PAGE;
      for (let done = 0; done < pages; done += CHUNK_PAGES) {
        const n = Math.min(CHUNK_PAGES, pages - done);
        let got;
        try {
          got = readSync(fd, pagemapBuffer, 0, n * 8, (start + done) * 8);
        } catch {
          break;
        }
        for (let i = 0; i + 8 <= got; i += 8) {
          const hi = pagemapBuffer.readUInt32LE(i + 4);
          if (!(hi & 0x80000000)) continue; // bit 63: present
          const lo = pagemapBuffer.readUInt32LE(i);
          const pfn = (hi & 0x7fffff) * 2 ** 32 + lo; // bits 0–54
          if (pfn !== 0) frames.add(pfn);
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * @typedef {object} GroupMemory
 * @property {number} processes
 * @property {number} rss       bytes, VmRSS summed
 * @property {number} pss       bytes, Pss summed
 * @property {number} distinct  bytes, distinct resident physical pages of the group
 */

/** @param {Iterable<number>} pids @returns {GroupMemory} */
export function groupMemory(pids) {
  const list = [...new Set(pids)];
  /** @type {Set<number>} */
  const frames = new Set();
  let rss = 0;
  let pss = 0;
  for (const pid of list) {
    rss += rssOf(pid);
    pss += pssOf(pid);
    addFrames(pid, frames);
  }
  return { processes: list.length, rss, pss, distinct: frames.size * PAGE };
}
