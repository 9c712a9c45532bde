/**
 * Single-command latencies through the docker CLI, both daemons interleaved repetition by
 * repetition (alternating which goes first) so drift on a noisy machine hits both alike:
 * `run --rm`, `run --rm --network none`, `exec`, `create` ×N sequential, `ps -a` with N containers.
 */
import { join } from 'node:path';
import { formatMs, summarize } from '../stats.mjs';
import { withStubDaemon } from '../stub-daemon.mjs';
import { floorVerdict, ratioRow } from './context.mjs';

/**
 * @typedef {import('./context.mjs').BenchContext} BenchContext
 * @typedef {import('./context.mjs').Row} Row
 * @typedef {import('../daemons/daemon.mjs').Daemon} Daemon
 * @typedef {{ name: string, docker: Daemon['docker'] }} CliTarget  a daemon or the stub
 */

/**
 * Runs `once(daemon)` `warmup` times untimed, then `reps` times timed, per daemon, interleaved.
 * `alongside`, when given, takes the same turns as a third party (so drift hits it as it hits the
 * daemons); its timed figures come back as `alongside`.
 * @param {BenchContext} ctx
 * @param {{ reps: number, warmup: number, once: (d: Daemon) => Promise<number>, alongside?: () => Promise<number> }} o
 */
export async function paired(ctx, o) {
  const daemons = ctx.ref ? [ctx.tsd, ctx.ref] : [ctx.tsd];
  /** @type {{ tsd: number[], ref: number[], alongside: number[] }} */
  const samples = { tsd: [], ref: [], alongside: [] };
  /** @type {{ once: () => Promise<number>, into: number[] }[]} */
  const parties = daemons.map((d) => ({
    once: () => o.once(d),
    into: d === ctx.tsd ? samples.tsd : samples.ref,
  }));
  if (o.alongside) parties.push({ once: o.alongside, into: samples.alongside });
  for (let i = 0; i < o.warmup; i++) for (const p of parties) await p.once();
  for (let i = 0; i < o.reps; i++) {
    const order = i % 2 === 0 ? parties : [...parties].reverse();
    for (const p of order) p.into.push(await p.once());
  }
  return samples;
}

/**
 * A latency row from paired samples.
 * @param {string} id @param {string} label @param {number} target @param {{ tsd: number[], ref: number[] }} samples
 */
function latencyRow(id, label, target, samples) {
  const tsd = summarize(samples.tsd);
  const ref = samples.ref.length ? summarize(samples.ref) : null;
  return ratioRow({
    id,
    label,
    unit: 'ms',
    tsd: tsd.median,
    ref: ref ? ref.median : null,
    target,
    detail: { tsd, ref, samples: { tsd: samples.tsd, ref: samples.ref } },
  });
}

/** Times one docker CLI command; throws when it fails. @param {Daemon} d @param {string[]} args */
async function timed(d, args) {
  const r = await d.docker(args, { timeoutMs: 120_000 });
  if (r.code !== 0)
    throw new Error(`${d.name}: docker ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.ms;
}

/** @param {BenchContext} ctx */
export async function runRm(ctx) {
  const samples = await paired(ctx, {
    reps: ctx.opts.reps,
    warmup: ctx.opts.warmup,
    once: (d) => timed(d, ['run', '--rm', 'busybox', 'true']),
  });
  return [latencyRow('run', 'run --rm busybox true', 0.2, samples)];
}

/** @param {BenchContext} ctx */
export async function runRmNone(ctx) {
  const samples = await paired(ctx, {
    reps: ctx.opts.reps,
    warmup: ctx.opts.warmup,
    once: (d) => timed(d, ['run', '--rm', '--network', 'none', 'busybox', 'true']),
  });
  return [latencyRow('run-none', 'run --rm --network none busybox true', 0.2, samples)];
}

/** @param {BenchContext} ctx */
export async function exec(ctx) {
  const daemons = ctx.ref ? [ctx.tsd, ctx.ref] : [ctx.tsd];
  /** @type {Map<Daemon, string>} */
  const ids = new Map();
  try {
    for (const d of daemons) {
      const r = await d.mustDocker(['run', '-d', 'busybox', 'sleep', '1000000']);
      ids.set(d, r.stdout.trim());
    }
    const samples = await paired(ctx, {
      reps: ctx.opts.execReps,
      warmup: ctx.opts.warmup,
      once: (d) => timed(d, ['exec', /** @type {string} */ (ids.get(d)), 'true']),
    });
    return [latencyRow('exec', 'exec <ctr> true', 0.3, samples)];
  } finally {
    for (const [d, id] of ids) await d.docker(['rm', '-f', id]);
  }
}

/**
 * `create` ×N sequential: one sample is the time of N back-to-back `docker create`s. The last
 * sample's containers stay for `ps -a`. The same N creates against a stub daemon that answers at
 * once, in the same rotation, price the CLI alone: the floor under both daemons' figures.
 * @param {BenchContext} ctx
 */
export async function create(ctx) {
  const n = ctx.opts.createCount;
  /** @type {Map<Daemon, string[]>} */
  const made = new Map();
  const samples = await withStubDaemon(join(ctx.root, 'cli-floor'), (stub) =>
    paired(ctx, {
      reps: ctx.opts.createReps,
      warmup: 0,
      async once(d) {
        if (made.get(d)?.length) await removeContainers(d, /** @type {string[]} */ (made.get(d)));
        const r = await createMany(d, n);
        made.set(d, r.ids);
        return r.ms;
      },
      alongside: async () => (await createMany(stub, n)).ms,
    }),
  );
  ctx.shared.createdContainers = made;
  return [withCliFloor(latencyRow('create', `create ×${n} sequential`, 0.3, samples), samples.alongside)];
}

/** N sequential `docker create busybox true`: their summed time and the ids. @param {CliTarget} d @param {number} n */
async function createMany(d, n) {
  const ids = [];
  let ms = 0;
  for (let i = 0; i < n; i++) {
    const r = await d.docker(['create', 'busybox', 'true']);
    if (r.code !== 0) throw new Error(`${d.name}: docker create failed (exit ${r.code}): ${r.stderr.trim()}`);
    ms += r.ms;
    ids.push(r.stdout.trim());
  }
  return { ms, ids };
}

/**
 * Adds the CLI's own cost to a row: the stub's median over dockerd's is the lowest ratio any
 * daemon can reach with this CLI, so the note says whether the target lies below it.
 * @param {Row} row @param {number[]} samples  the stub's figures
 * @returns {Row}
 */
function withCliFloor(row, samples) {
  const floor = summarize(samples);
  const ratio = row.ref ? floor.median / row.ref : null;
  const targetBelow = ratio !== null && row.target !== null ? row.target < ratio : null;
  let note = `the docker CLI alone (a stub daemon answering every request at once) takes ${formatMs(floor.median)}`;
  if (ratio === null) {
    if (row.tsd) note += ` = ${(floor.median / row.tsd).toFixed(2)} × tsdocker's`;
    note += ' (no dockerd in this run to set it against)';
  } else {
    note += ` = ${ratio.toFixed(2)} × dockerd's, the lowest ratio any daemon can reach with this CLI`;
    if (row.target !== null) note += floorVerdict(row.target, ratio);
  }
  const cliFloor = {
    what: 'the same creates, same CLI and environment, against a stub daemon answering at once',
    floor,
    samples,
    ratioToRef: ratio,
    ratioToTsd: row.tsd ? floor.median / row.tsd : null,
    targetBelowFloor: targetBelow,
  };
  return { ...row, note, detail: { .../** @type {object} */ (row.detail), cliFloor } };
}

/** @param {Daemon} d @param {string[]} ids */
async function removeContainers(d, ids) {
  for (let i = 0; i < ids.length; i += 50)
    await d.mustDocker(['rm', '-f', ...ids.slice(i, i + 50)], { timeoutMs: 300_000 });
}

/** `ps -a` with N containers (those `create` left, or N made here). @param {BenchContext} ctx */
export async function psAll(ctx) {
  const n = ctx.opts.createCount;
  const daemons = ctx.ref ? [ctx.tsd, ctx.ref] : [ctx.tsd];
  const made = /** @type {Map<Daemon, string[]> | undefined} */ (ctx.shared.createdContainers) ?? new Map();
  try {
    for (const d of daemons) {
      const have = made.get(d) ?? [];
      while (have.length < n) have.push((await d.mustDocker(['create', 'busybox', 'true'])).stdout.trim());
      made.set(d, have);
    }
    const samples = await paired(ctx, {
      reps: ctx.opts.psReps,
      warmup: ctx.opts.warmup,
      once: (d) => timed(d, ['ps', '-a']),
    });
    return [latencyRow('ps', `ps -a with ${n} containers`, 1.0, samples)];
  } finally {
    for (const [d, ids] of made) await removeContainers(d, ids);
    ctx.shared.createdContainers = undefined;
  }
}
