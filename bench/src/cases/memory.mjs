/**
 * Memory: the idle daemons (tsdocker's one process vs dockerd + its containerd), and both with N
 * running containers (daemon processes plus every shim: tsd-shim, containerd-shim-runc-v2).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { groupMemory } from '../memory.mjs';
import { formatBytes } from '../stats.mjs';
import { ratioRow } from './context.mjs';

/**
 * @typedef {import('./context.mjs').BenchContext} BenchContext
 * @typedef {import('../daemons/daemon.mjs').Daemon} Daemon
 */

/** @param {BenchContext} ctx */
export async function rssIdle(ctx) {
  await delay(2000); // let start-up garbage settle
  const tsd = groupMemory(ctx.tsd.corePids());
  const ref = ctx.ref ? groupMemory(ctx.ref.corePids()) : null;
  const note = ref
    ? `PSS ${formatBytes(tsd.pss)} vs ${formatBytes(ref.pss)}; distinct pages ${formatBytes(tsd.distinct)} vs ${formatBytes(ref.distinct)}`
    : `PSS ${formatBytes(tsd.pss)}; distinct pages ${formatBytes(tsd.distinct)}`;
  return [
    ratioRow({
      id: 'rss-idle',
      label: 'daemon RSS, idle',
      unit: 'bytes',
      tsd: tsd.rss,
      ref: ref ? ref.rss : null,
      target: 0.6,
      note,
      detail: { tsd, ref },
    }),
  ];
}

/**
 * Starts `n` `sleep` containers on one daemon, four at a time (start-up speed is not measured
 * here). Ids go into `ids` as they come, so the caller removes them even after a failure.
 * @param {Daemon} d @param {number} n @param {string[]} ids @param {(msg: string) => void} log
 */
async function startMany(d, n, ids, log) {
  let next = 0;
  const starter = async () => {
    while (next < n) {
      next++;
      const r = await d.mustDocker(['run', '-d', 'busybox', 'sleep', '1000000']);
      ids.push(r.stdout.trim());
      if (ids.length % 25 === 0) log(`  ${d.name}: ${ids.length}/${n} running`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, starter));
}

/** How long after the last container started the running case is measured. */
const SETTLE_MS = 20_000;

/** @param {BenchContext} ctx */
export async function memRunning(ctx) {
  const n = ctx.opts.running;
  const daemons = ctx.ref ? [ctx.tsd, ctx.ref] : [ctx.tsd];
  /**
   * The whole group, and its two parts: the daemon's own processes, and the shims.
   * @type {Map<Daemon, ReturnType<typeof groupMemory> & { daemon: ReturnType<typeof groupMemory>, shims: ReturnType<typeof groupMemory> }>}
   */
  const results = new Map();
  /** The same, 2 s after the last start (before the daemons' collectors have caught up). @type {Map<Daemon, number>} */
  const early = new Map();
  // One daemon at a time, so the two sets of containers never compete.
  for (const d of daemons) {
    /** @type {string[]} */
    const ids = [];
    try {
      await startMany(d, n, ids, ctx.log);
      await delay(2000);
      early.set(d, groupMemory((await d.memoryGroup(ids)).pids).pss);
      // What the group holds with the containers running, not the garbage of starting them:
      // V8's memory reducer gives a burst's garbage back ~10-15 s after it (measured on
      // tsdocker), Go's collector and scavenger have their own pace. Both sampled after this.
      await delay(SETTLE_MS - 2000);
      const group = await d.memoryGroup(ids);
      const core = d.corePids();
      const mem = groupMemory(group.pids);
      results.set(d, {
        ...mem,
        daemon: groupMemory(core),
        shims: groupMemory(group.pids.filter((p) => !core.includes(p))),
      });
    } finally {
      const t = Date.now();
      for (let i = 0; i < ids.length; i += 50)
        await d.docker(['rm', '-f', ...ids.slice(i, i + 50)], { timeoutMs: 600_000 });
      ctx.log(`  ${d.name}: removed ${ids.length} containers in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  }
  const tsd = /** @type {NonNullable<ReturnType<typeof results.get>>} */ (results.get(ctx.tsd));
  const ref = ctx.ref ? (results.get(ctx.ref) ?? null) : null;
  /** @param {NonNullable<typeof ref>} m */
  const parts = (m) =>
    `${formatBytes(m.daemon.pss)} + ${m.shims.processes} shims ${formatBytes(m.shims.pss)} ` +
    `(${formatBytes(m.shims.pss / Math.max(1, m.shims.processes))} each)`;
  const procs = `PSS ${SETTLE_MS / 1000} s after the last start: tsdocker daemon ${parts(tsd)}${ref ? `; dockerd + containerd ${parts(ref)}` : ''}`;
  const earlyNote = `2 s after it: ${formatBytes(early.get(ctx.tsd) ?? 0)}${ctx.ref ? ` vs ${formatBytes(early.get(ctx.ref) ?? 0)}` : ''}`;
  return [
    ratioRow({
      id: 'mem-running-pss',
      label: `memory, ${n} running (PSS)`,
      unit: 'bytes',
      tsd: tsd.pss,
      ref: ref ? ref.pss : null,
      target: 0.2,
      note: `${procs}; RSS sum ${formatBytes(tsd.rss)}${ref ? ` vs ${formatBytes(ref.rss)}` : ''}; ${earlyNote}`,
      detail: { tsd, ref },
    }),
    ratioRow({
      id: 'mem-running-distinct',
      label: `memory, ${n} running (distinct pages)`,
      unit: 'bytes',
      tsd: tsd.distinct,
      ref: ref ? ref.distinct : null,
      target: 0.2,
      note:
        `each physical page of the group counted once: tsdocker daemon ${formatBytes(tsd.daemon.distinct)} + shims ${formatBytes(tsd.shims.distinct)}` +
        (ref
          ? `; dockerd + containerd ${formatBytes(ref.daemon.distinct)} + shims ${formatBytes(ref.shims.distinct)}`
          : ''),
      detail: { tsd, ref },
    }),
  ];
}
