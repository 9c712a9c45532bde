#!/usr/bin/env node
/**
 * tsdocker's benchmark: tsdocker and the real dockerd side by side, driven by the same docker CLI
 * with the same busybox image, reported as ratios measured in one run. See bench/README.md.
 *
 *   pnpm bench                                  # everything, about ten minutes
 *   pnpm bench --cases run,exec --reps 40       # some cases
 *   pnpm bench --stress --workers 8 --seconds 60
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unavailableRow } from './src/cases/context.mjs';
import { create, exec, psAll, runRm, runRmNone } from './src/cases/latency.mjs';
import { loadCase } from './src/cases/load.mjs';
import { memRunning, rssIdle } from './src/cases/memory.mjs';
import { stress } from './src/cases/stress.mjs';
import { timingModel } from './src/cases/timing-model.mjs';
import { ReferenceDaemon, referenceUnavailable } from './src/daemons/reference-daemon.mjs';
import { TsdockerDaemon } from './src/daemons/tsdocker-daemon.mjs';
import { diffHost, restoreHost, snapshotHost } from './src/host-state.mjs';
import { buildBusybox } from './src/images.mjs';
import { parseOptions } from './src/options.mjs';
import { notes, resultsTable, timingTables, writeJson } from './src/report.mjs';
import { cleanupStaleRuns, ROOT_PREFIX, writeRunState } from './src/stale-runs.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** @type {Record<string, (ctx: import('./src/cases/context.mjs').BenchContext) => Promise<import('./src/cases/context.mjs').Row[]>>} */
const CASES = {
  'rss-idle': rssIdle,
  run: runRm,
  'run-none': runRmNone,
  exec,
  create,
  ps: psAll,
  timing: timingModel,
  load: loadCase,
  'mem-running': memRunning,
  stress,
};

const CASE_LABELS = {
  'rss-idle': 'daemon RSS, idle',
  run: 'run --rm busybox true',
  'run-none': 'run --rm --network none busybox true',
  exec: 'exec <ctr> true',
  create: 'create ×N sequential',
  ps: 'ps -a with N containers',
  timing: 'timing model',
  load: 'load vs tar -x',
  'mem-running': 'memory with N running',
  stress: 'stress',
};

const log = (/** @type {string} */ msg) =>
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${/** @type {Error} */ (err).message} (see --help)`);
    return 2;
  }
  if (!opts) return 0;
  if (process.getuid?.() !== 0) {
    console.error('bench: must run as root (both daemons create namespaces, cgroups and mounts)');
    return 1;
  }
  if (opts.cleanupStale) {
    const n = await cleanupStaleRuns(log);
    log(`${n} stale run(s) cleaned up`);
    return 0;
  }
  if (opts.setup && opts.reference) {
    const r = spawnSync('bash', [join(here, 'setup.sh')], { stdio: 'inherit' });
    if (r.status !== 0) log('bench/setup.sh failed; the reference may be unavailable');
  }

  const runId = `${process.pid}-${randomBytes(2).toString('hex')}`;
  const root = mkdtempSync(join(tmpdir(), ROOT_PREFIX));
  const date = new Date();
  const loadBefore = loadavg();
  const hostBefore = snapshotHost();
  const tsd = new TsdockerDaemon({
    root: join(root, 'tsdocker'),
    runId,
    storageDriver: opts.storageDriver,
    bin: opts.tsdockerBin,
  });
  writeRunState({
    benchPid: process.pid,
    root,
    cgroupParents: [tsd.cgroupParent, `${tsd.cgroupParent}-direct`, `tsd-bench-${runId}-ref`],
    hostBefore,
  });
  /** @type {ReferenceDaemon | null} */
  let ref = null;
  /** @type {string | null} */
  let refUnavailable = opts.reference ? referenceUnavailable() : 'not requested (--no-reference)';
  /** @type {string[]} */
  const cleanupProblems = [];
  /** @type {string[]} */
  let hostUndone = [];
  /** @type {string[]} */
  let hostChanges = [];

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    log('stopping daemons, cleaning up…');
    for (const d of [ref, tsd]) {
      if (!d) continue;
      const t = Date.now();
      try {
        cleanupProblems.push(...(await d.stop({ keep: opts.keep })).map((p) => `${d.name}: ${p}`));
        log(`  ${d.name} stopped and removed in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      } catch (err) {
        cleanupProblems.push(`${d.name}: stop failed: ${/** @type {Error} */ (err).message}`);
      }
    }
    hostUndone = restoreHost(hostBefore);
    hostChanges = diffHost(hostBefore, snapshotHost());
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  };
  const onSignal = (/** @type {string} */ sig) => {
    log(`${sig}: cleaning up before exit`);
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  /** @type {import('./src/cases/context.mjs').Row[]} */
  const rows = [];
  /** @type {Record<string, unknown>} */
  const shared = {};
  try {
    log(`run ${runId}, temp dir ${root}`);
    log('building the busybox image from busybox-static…');
    const busybox = await buildBusybox(root);

    log('starting tsdocker…');
    await tsd.start();
    log(`  ${tsd.description}, pid ${tsd.pid}`);
    if (!refUnavailable) {
      log('starting dockerd (the reference)…');
      ref = new ReferenceDaemon({ root: join(root, 'dockerd'), runId });
      try {
        await ref.start();
        log(`  ${ref.description}, pid ${ref.pid}, containerd pid ${ref.containerdPid}`);
      } catch (err) {
        refUnavailable = `dockerd could not start: ${/** @type {Error} */ (err).message}`;
        log(refUnavailable);
        cleanupProblems.push(...(await ref.stop({ keep: opts.keep })).map((p) => `dockerd: ${p}`));
        ref = null;
      }
    }
    if (refUnavailable) log(`no reference: ${refUnavailable}; reporting tsdocker's absolute figures`);

    for (const d of [tsd, ref]) if (d) await d.mustDocker(['import', busybox.tarPath, 'busybox']);

    const ctx = { opts, tsd, ref, root, busybox, log, shared };
    for (const name of opts.cases) {
      const t = Date.now();
      log(`case ${name}…`);
      try {
        rows.push(...(await CASES[name](ctx)));
      } catch (err) {
        const msg = /** @type {Error} */ (err).message.split('\n').slice(0, 3).join(' ');
        log(`case ${name} failed: ${msg}`);
        rows.push(
          unavailableRow(
            name,
            CASE_LABELS[/** @type {keyof typeof CASE_LABELS} */ (name)] ?? name,
            `failed: ${msg}`,
          ),
        );
        // Whatever the case left running goes before the next case starts.
        for (const d of [tsd, ref]) if (d) await d.removeAllContainers().catch(() => 0);
      }
      log(`case ${name} done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  } finally {
    await cleanup();
  }

  const loadAfter = loadavg();
  const load = `load average ${loadBefore[0].toFixed(1)} at start, ${loadAfter[0].toFixed(1)} at end`;
  const header = [
    `tsdocker bench — ${date.toISOString()} — ${cpus().length} CPUs, Linux ${release()}, ${load}`,
    `tsdocker:  ${tsd.description}`,
    `reference: ${ref ? ref.description : `none — ${refUnavailable}`}`,
    'docker CLI: /usr/local/bin/docker for both; ratio = tsdocker / reference (lower is better; stress: rate ratio)',
  ].join('\n');
  const out = [header, ''];
  if (rows.length) out.push(resultsTable(rows, ref !== null), '', notes(rows));
  const model = timingTables(shared.timingModel);
  if (model) out.push('', model);
  if (hostUndone.length) out.push('', `Undone on the host after the run: ${hostUndone.join('; ')}`);
  out.push(
    '',
    hostChanges.length
      ? 'Host state differs from before the run; not undone, because the bench did not make it (both daemons ran in ' +
          `network namespaces of their own; other processes on this host did): ${hostChanges.join('; ')}`
      : 'Host networking and paths: same as before the run (iptables, links, sysctls, /etc/docker, /run/containerd).',
  );
  if (cleanupProblems.length) out.push(`Clean-up problems: ${cleanupProblems.join('; ')}`);
  const jsonPath =
    opts.json ?? join(here, 'results', `bench-${date.toISOString().replace(/[:.]/g, '-')}.json`);
  out.push(`Results: ${jsonPath}`);
  console.log(out.join('\n'));
  writeJson(jsonPath, {
    date: date.toISOString(),
    host: { cpus: cpus().length, kernel: release(), node: process.versions.node, loadBefore, loadAfter },
    tsdocker: tsd.description,
    reference: ref ? ref.description : null,
    referenceUnavailable: refUnavailable,
    options: opts,
    rows,
    timingModel: shared.timingModel ?? null,
    hostUndone,
    hostChanges,
    cleanupProblems,
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
