/**
 * `--ulimit` (`HostConfig.Ulimits`): Docker's names, go-units' messages, and one rule of ours:
 * a container never asks for more than the daemon itself may have. Raising a hard limit needs
 * CAP_SYS_RESOURCE, which the daemon may lack (it does on some hosts); refusing at create with
 * a clear 400 beats a container that fails at exec.
 */
import { readFileSync } from 'node:fs';
import type { RlimitSpec } from '../drivers/exec-driver.js';
import { invalidArgument } from '../errors.js';

/** Docker's ulimit name → the row of /proc/self/limits that shows the daemon's own limit. */
const ULIMITS: Record<string, string> = {
  core: 'Max core file size',
  cpu: 'Max cpu time',
  data: 'Max data size',
  fsize: 'Max file size',
  locks: 'Max file locks',
  memlock: 'Max locked memory',
  msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority',
  nofile: 'Max open files',
  nproc: 'Max processes',
  rss: 'Max resident set',
  rtprio: 'Max realtime priority',
  rttime: 'Max realtime timeout',
  sigpending: 'Max pending signals',
  stack: 'Max stack size',
};

export interface UlimitInput {
  Name?: string | null;
  Soft?: number | null;
  Hard?: number | null;
}

/** -1 (and anything the kernel calls infinity) means unlimited. */
const UNLIMITED = -1;
const asLimit = (n: number) => (n < 0 ? Number.POSITIVE_INFINITY : n);

/** The daemon's own hard limits by Docker name, from /proc/self/limits (Infinity: unlimited). */
export function daemonHardLimits(limitsText?: string): Map<string, number> {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return new Map();
    }
  }
  const out = new Map<string, number>();
  for (const [name, row] of Object.entries(ULIMITS)) {
    const line = text.split('\n').find((l) => l.startsWith(row));
    if (!line) continue;
    const fields = line.slice(row.length).trim().split(/\s+/);
    const hard = fields[1];
    if (hard === undefined) continue;
    out.set(name, hard === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hard));
  }
  return out;
}

/** Validates `HostConfig.Ulimits` and turns them into rlimits; `hardLimits` defaults to ours. */
export function ulimitsToRlimits(
  ulimits: readonly UlimitInput[] | null | undefined,
  hardLimits: Map<string, number> = daemonHardLimits(),
): RlimitSpec[] {
  const out: RlimitSpec[] = [];
  const seen = new Set<string>();
  for (const u of ulimits ?? []) {
    const name = u.Name ?? '';
    if (!Object.hasOwn(ULIMITS, name)) throw invalidArgument(`invalid ulimit type: ${name}`);
    const soft = u.Soft ?? 0;
    const hard = u.Hard ?? 0;
    for (const v of [soft, hard])
      if (!Number.isSafeInteger(v) || v < UNLIMITED)
        throw invalidArgument(`invalid ulimit ${name}: ${v} is not a valid limit (use -1 for unlimited)`);
    if (asLimit(soft) > asLimit(hard))
      throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    const ceiling = hardLimits.get(name);
    if (ceiling !== undefined && asLimit(hard) > ceiling)
      throw invalidArgument(
        `invalid ulimit ${name}: the hard limit ${hard === UNLIMITED ? 'unlimited' : hard} is above the daemon's own hard limit (${ceiling}), which it cannot raise without CAP_SYS_RESOURCE`,
      );
    // A repeated name: the last one wins, as in moby's mergeUlimits.
    if (seen.has(name))
      out.splice(
        out.findIndex((r) => r.type === `RLIMIT_${name.toUpperCase()}`),
        1,
      );
    seen.add(name);
    out.push({ type: `RLIMIT_${name.toUpperCase()}`, soft, hard });
  }
  return out;
}
