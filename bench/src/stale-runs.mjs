/**
 * A run killed outright (SIGKILL, a lost terminal) cannot clean up after itself. Each run keeps
 * a state file in its temp dir; `run.mjs --cleanup-stale` finds the runs whose bench process is
 * gone and removes what they left: daemons and their helpers (by pid, only if their command line
 * names that run's temp dir), mounts under it, its cgroups, the dir, and dockerd's host files.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { killCgroupProcesses, removeCgroups, unmountUnder } from './host-resources.mjs';
import { restoreHost } from './host-state.mjs';
import { commandLine, isAlive, parentMap } from './process-tree.mjs';

export const STATE_FILE = 'bench-state.json';
export const ROOT_PREFIX = 'tsd-bench-';

/**
 * @typedef {object} RunState
 * @property {number} benchPid
 * @property {string} root
 * @property {string[]} cgroupParents
 * @property {import('./host-state.mjs').HostSnapshot} hostBefore
 */

/** @param {RunState} state */
export function writeRunState(state) {
  writeFileSync(join(state.root, STATE_FILE), JSON.stringify(state));
}

/** @param {(msg: string) => void} log @returns {Promise<number>} runs cleaned */
export async function cleanupStaleRuns(log) {
  let cleaned = 0;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(ROOT_PREFIX)) continue;
    const root = join(tmpdir(), name);
    const file = join(root, STATE_FILE);
    if (!existsSync(file)) continue;
    /** @type {RunState} */
    const state = JSON.parse(readFileSync(file, 'utf8'));
    if (state.root !== root) continue;
    if (isAlive(state.benchPid) && commandLine(state.benchPid).includes('run.mjs')) {
      log(`${root}: its bench (pid ${state.benchPid}) is still running; left alone`);
      continue;
    }
    // Every process whose command line names this run's dir: daemons, containerd, shims.
    const ours = [...parentMap().keys()].filter(
      (pid) => pid !== process.pid && commandLine(pid).includes(root),
    );
    for (const pid of ours) signal(pid, 'SIGTERM');
    for (let i = 0; i < 100 && ours.some(isAlive); i++) await delay(100);
    for (const pid of ours.filter(isAlive)) signal(pid, 'SIGKILL');
    await delay(300);
    const killed = state.cgroupParents.reduce((n, p) => n + killCgroupProcesses(p), 0);
    if (killed) await delay(500);
    const unmounted = unmountUnder(root);
    const stuck = state.cgroupParents.flatMap((p) => removeCgroups(p));
    rmSync(root, { recursive: true, force: true });
    const undone = restoreHost(state.hostBefore);
    log(
      `${root}: stopped ${ours.length} process(es) and ${killed} container process(es), unmounted ${unmounted}, removed cgroups ${state.cgroupParents.join(', ')}` +
        `${stuck.length ? ` (not removable: ${stuck.join('; ')})` : ''}${undone.length ? `; host: ${undone.join('; ')}` : ''}`,
    );
    cleaned++;
  }
  return cleaned;
}

/** @param {number} pid @param {NodeJS.Signals} sig */
function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}
