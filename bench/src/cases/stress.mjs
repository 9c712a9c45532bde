/**
 * Stress: N concurrent workers each looping `create → start → wait → rm` through the docker CLI
 * for T seconds, one daemon at a time. Reports containers/s, failures, and what was left behind
 * afterwards: mounts under the daemon's root, container cgroups under its cgroup parent, entries
 * in its exec root, processes still in its tree besides the daemon, and the namespaces they hold.
 */
import { setTimeout as delay } from 'node:timers/promises';

/**
 * How long `docker wait` on a `true` container (and the `rm -f` after a failure) may take before
 * it counts as a failure.
 */
const WAIT_TIMEOUT_MS = 60_000;

/**
 * @typedef {import('./context.mjs').BenchContext} BenchContext
 * @typedef {import('../daemons/daemon.mjs').Daemon} Daemon
 * @typedef {import('../daemons/daemon.mjs').StateSnapshot} StateSnapshot
 */

/**
 * @typedef {object} StressResult
 * @property {number} cycles
 * @property {number} failures
 * @property {string[]} errors   the first few failure messages
 * @property {number} seconds    wall time until the last worker finished
 * @property {number} rate       cycles per second
 * @property {number} leftoverContainers
 * @property {{ mounts: string[], cgroups: string[], execState: string[], processes: number[], namespaces: string[] }} leaks
 */

/** @param {string[]} before @param {string[]} after */
const added = (before, after) => after.filter((x) => !before.includes(x));

/** @param {Daemon} d @param {number} workers @param {number} seconds @returns {Promise<StressResult>} */
export async function stressDaemon(d, workers, seconds) {
  // One cycle first: state a daemon makes lazily on its first container is not a leak.
  await d.mustDocker(['run', '--rm', 'busybox', 'true']);
  await delay(1000);
  const before = d.snapshotState();
  let cycles = 0;
  let failures = 0;
  /** @type {string[]} */
  const errors = [];
  /** @param {string} msg */
  const fail = (msg) => {
    failures++;
    if (errors.length < 5) errors.push(msg);
  };
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (Date.now() < deadline) {
      const c = await d.docker(['create', 'busybox', 'true']);
      if (c.code !== 0) {
        fail(`create: ${c.stderr.trim()}`);
        continue;
      }
      const id = c.stdout.trim();
      const s = await d.docker(['start', id]);
      if (s.code !== 0) {
        fail(`start: ${s.stderr.trim()}`);
        await d.docker(['rm', '-f', id], { timeoutMs: WAIT_TIMEOUT_MS });
        continue;
      }
      // `true` exits at once: a wait that takes this long is a lost exit, not a slow machine. A
      // failure, not a bench that hangs (it once waited 14 minutes on one).
      const w = await d.docker(['wait', id], { timeoutMs: WAIT_TIMEOUT_MS });
      if (w.code !== 0 || w.stdout.trim() !== '0') {
        fail(`wait: exit ${w.code}, status ${w.stdout.trim()} ${w.stderr.trim()}`);
        await d.docker(['rm', '-f', id], { timeoutMs: WAIT_TIMEOUT_MS });
        continue;
      }
      const r = await d.docker(['rm', id]);
      if (r.code !== 0) {
        fail(`rm: ${r.stderr.trim()}`);
        await d.docker(['rm', '-f', id], { timeoutMs: WAIT_TIMEOUT_MS });
        continue;
      }
      cycles++;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsed = (Date.now() - started) / 1000;
  await delay(2000); // exit reports and cleanups that trail the last rm
  const leftover = await d.containerIds();
  const after = d.snapshotState();
  if (leftover.length) await d.removeAllContainers();
  return {
    cycles,
    failures,
    errors,
    seconds: elapsed,
    rate: cycles / elapsed,
    leftoverContainers: leftover.length,
    leaks: {
      mounts: added(before.mounts, after.mounts),
      cgroups: added(before.cgroups, after.cgroups),
      execState: added(before.execState, after.execState),
      processes: after.strayProcesses,
      namespaces: added(before.namespaces, after.namespaces),
    },
  };
}

/** @param {StressResult} r */
export function leakCount(r) {
  const l = r.leaks;
  return (
    l.mounts.length +
    l.cgroups.length +
    l.execState.length +
    l.processes.length +
    l.namespaces.length +
    r.leftoverContainers
  );
}

/** @param {StressResult} r */
function describe(r) {
  const l = r.leaks;
  const leaks = leakCount(r)
    ? `leaks: ${l.mounts.length} mounts, ${l.cgroups.length} cgroups, ${l.execState.length} exec-root entries, ${l.processes.length} processes, ${l.namespaces.length} namespaces, ${r.leftoverContainers} containers`
    : 'no leaks';
  return `${r.cycles} cycles, ${r.failures} failures, ${leaks}`;
}

/** @param {BenchContext} ctx */
export async function stress(ctx) {
  const { workers, seconds } = ctx.opts;
  ctx.log(`  tsdocker: ${workers} workers for ${seconds} s…`);
  const tsd = await stressDaemon(ctx.tsd, workers, seconds);
  let ref = null;
  if (ctx.ref) {
    ctx.log(`  dockerd: ${workers} workers for ${seconds} s…`);
    ref = await stressDaemon(ctx.ref, workers, seconds);
  }
  const note = `tsdocker: ${describe(tsd)}${ref ? `; dockerd: ${describe(ref)}` : ''}`;
  return [
    {
      id: 'stress',
      label: `stress: ${workers} workers × ${seconds} s, containers/s`,
      unit: /** @type {const} */ ('rate'),
      tsd: tsd.rate,
      ref: ref ? ref.rate : null,
      refName: 'dockerd',
      ratio: ref && ref.rate > 0 ? tsd.rate / ref.rate : null,
      target: null,
      targetText: '0 fail, 0 leak',
      met: tsd.failures === 0 && leakCount(tsd) === 0,
      note,
      detail: { tsd, ref },
    },
  ];
}
