/**
 * `docker load` of a generated ~350 MB single-layer image on each daemon, next to `tar -x` of the
 * same layer into a fresh directory on the same disk, interleaved in one run.
 *
 * Every timed step starts from the same state: dirty pages written out (sync), the kernel's
 * caches dropped, then the step's input read back into the page cache. Dropping matters on an
 * ext4 without a journal (these machines' root): a new inode is never given a number whose
 * inode-table block is still cached with a recent deletion time (ext4's `recently_deleted`), so
 * after the ~10,000 files of one step are removed, file creation in the next one scans past
 * them — `tar -x` of the bench layer measured 0.7 s after a drop and 3.2 s right after the
 * previous extraction was deleted, whichever tool came next paid for it. Where the caches cannot
 * be dropped (not root), the bench says so and only syncs. tsdocker's `POST /images/load` may not exist yet: a tiny probe archive tells, and the case
 * then reports "not available" and still measures dockerd and tar -x.
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun } from '../commands.mjs';
import { writeLoadArchive } from '../images.mjs';
import { formatBytes, summarize } from '../stats.mjs';
import { ratioRow, unavailableRow } from './context.mjs';

/**
 * @typedef {import('./context.mjs').BenchContext} BenchContext
 * @typedef {import('../daemons/daemon.mjs').Daemon} Daemon
 */

/** @param {Daemon} d @param {string} archive */
const load = (d, archive) => d.docker(['load', '-i', archive], { timeoutMs: 900_000 });

/**
 * Whether `docker load` works on `d`: loads a tiny archive of the same shape, checks the tag, removes it.
 * @param {Daemon} d @param {string} archive @param {string} tag
 * @returns {Promise<string | null>} why not, or null
 */
async function loadUnavailable(d, archive, tag) {
  const r = await load(d, archive);
  if (r.code !== 0) return `docker load failed: ${r.stderr.trim().split('\n').pop()}`;
  const inspect = await d.docker(['image', 'inspect', '--format', '{{.Id}}', tag]);
  if (inspect.code !== 0) return `docker load exited 0 but ${tag} is not there: ${inspect.stderr.trim()}`;
  await d.docker(['rmi', tag]);
  return null;
}

/**
 * Brings the machine to the same state before a timed step (see the top of this file): sync,
 * drop the caches, read `input` back in. Returns false when the caches could not be dropped.
 * @param {string} input
 */
async function settle(input) {
  await mustRun('sync', []);
  let dropped = true;
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    dropped = false;
  }
  // Into the page cache again (both sides read their input from memory, as before the drop).
  for await (const _chunk of createReadStream(input, { highWaterMark: 1024 * 1024 })) {
    // discarded
  }
  return dropped;
}

/** @param {BenchContext} ctx */
export async function loadCase(ctx) {
  const dir = join(ctx.root, 'load');
  ctx.log(`  generating a ${ctx.opts.loadMb} MiB single-layer image (random data)…`);
  const probe = await writeLoadArchive({
    dir: join(dir, 'probe'),
    busyboxRoot: ctx.busybox.rootfs,
    dataMb: 1,
    tag: 'tsd-bench/load-probe:latest',
  });
  const image = await writeLoadArchive({
    dir: join(dir, 'image'),
    busyboxRoot: ctx.busybox.rootfs,
    dataMb: ctx.opts.loadMb,
    tag: 'tsd-bench/load:latest',
  });
  ctx.log(`  layer.tar ${formatBytes(image.layerBytes)}, ${image.files} data files`);

  const tsdProblem = await loadUnavailable(ctx.tsd, probe.archive, probe.tag);
  const refProblem = ctx.ref
    ? await loadUnavailable(ctx.ref, probe.archive, probe.tag)
    : 'no reference daemon';
  /** @type {Daemon[]} */
  const loaders = [];
  if (!tsdProblem) loaders.push(ctx.tsd);
  if (ctx.ref && !refProblem) loaders.push(ctx.ref);

  /** @type {{ tsd: number[], ref: number[], tar: number[] }} */
  const samples = { tsd: [], ref: [], tar: [] };
  let cachesKept = false;
  for (let i = 0; i < ctx.opts.loadReps; i++) {
    // tar -x first, then the daemons, alternating their order.
    const target = mkdtempSync(join(dir, 'tar-x-'));
    if (!(await settle(image.layerTar))) cachesKept = true;
    const t = await mustRun('tar', ['--numeric-owner', '-xf', image.layerTar, '-C', target]);
    samples.tar.push(t.ms);
    rmSync(target, { recursive: true, force: true });
    const order = i % 2 === 0 ? loaders : [...loaders].reverse();
    for (const d of order) {
      if (!(await settle(image.archive))) cachesKept = true;
      const r = await load(d, image.archive);
      if (r.code !== 0) throw new Error(`${d.name}: docker load failed (exit ${r.code}): ${r.stderr.trim()}`);
      (d === ctx.tsd ? samples.tsd : samples.ref).push(r.ms);
      const rm = await d.docker(['rmi', image.tag], { timeoutMs: 300_000 });
      if (rm.code !== 0) throw new Error(`${d.name}: docker rmi ${image.tag} failed: ${rm.stderr.trim()}`);
    }
    ctx.log(`  rep ${i + 1}/${ctx.opts.loadReps}: tar -x ${(t.ms / 1000).toFixed(1)} s`);
  }
  rmSync(dir, { recursive: true, force: true });

  const tar = summarize(samples.tar);
  const tsd = samples.tsd.length ? summarize(samples.tsd) : null;
  const ref = samples.ref.length ? summarize(samples.ref) : null;
  const label = `load ${ctx.opts.loadMb} MiB image`;
  const detail = { samples, tar, tsd, ref, layerBytes: image.layerBytes, files: image.files };
  const rows = [];
  if (tsdProblem) {
    rows.push({
      ...unavailableRow('load-vs-tar', `${label} vs tar -x`, `tsdocker: not available (${tsdProblem})`, 1.2),
      ref: tar.median,
      refName: 'tar -x',
      unit: /** @type {const} */ ('ms'),
      detail,
    });
  } else {
    rows.push(
      ratioRow({
        id: 'load-vs-tar',
        label: `${label} vs tar -x`,
        unit: 'ms',
        tsd: tsd?.median ?? null,
        ref: tar.median,
        refName: 'tar -x',
        target: 1.2,
        detail,
      }),
    );
  }
  rows.push(
    ratioRow({
      id: 'load-vs-dockerd',
      label: `${label} vs dockerd`,
      unit: 'ms',
      tsd: tsd?.median ?? null,
      ref: ref?.median ?? null,
      target: null,
      note:
        [
          tsdProblem && `tsdocker: ${tsdProblem}`,
          refProblem && ctx.ref && `dockerd: ${refProblem}`,
          cachesKept && 'caches could not be dropped between steps (not root?): figures may carry over',
        ]
          .filter(Boolean)
          .join('; ') || 'informational (issue 3 targets load against tar -x)',
      detail,
    }),
  );
  return rows;
}
