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
 * be dropped (not root), the bench says so and only syncs. tsdocker's `POST /images/load` may not
 * exist yet: a tiny probe archive tells, and the case then reports "not available" and still
 * measures dockerd and tar -x.
 *
 * Each rep also times the floor under a daemon's figure: the work every load through this CLI
 * takes, done by standard native tools side by side with nothing handed between them — `tar -x`
 * of the layer, the CLI's upload of the archive to a stub daemon that reads and drops it, and a
 * sha256 of the layer (a daemon must check the layer against its diff id). A daemon comes near
 * its ratio to `tar -x` only by extracting as cheaply as `tar -x` while the upload and the hash
 * run beside it; the row's note says whether the target is below it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { mustRun } from '../commands.mjs';
import { writeLoadArchive } from '../images.mjs';
import { formatBytes, formatMs, summarize } from '../stats.mjs';
import { withStubDaemon } from '../stub-daemon.mjs';
import { floorVerdict, ratioRow, unavailableRow } from './context.mjs';

/**
 * @typedef {import('./context.mjs').BenchContext} BenchContext
 * @typedef {import('../daemons/daemon.mjs').Daemon} Daemon
 */

/** Issue 3's target for load, as a ratio to `tar -x`. */
const TARGET = 1.2;

/** @param {{ docker: Daemon['docker'] }} d  a daemon or the stub @param {string} archive */
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
 * drop the caches, read `inputs` back in. Returns false when the caches could not be dropped.
 * @param {...string} inputs
 */
async function settle(...inputs) {
  await mustRun('sync', []);
  let dropped = true;
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    dropped = false;
  }
  // Into the page cache again (both sides read their input from memory, as before the drop).
  for (const input of inputs) {
    for await (const _chunk of createReadStream(input, { highWaterMark: 1024 * 1024 })) {
      // discarded
    }
  }
  return dropped;
}

/**
 * One timing of the floor (see the top of this file): `tar -x` of the layer, the CLI's upload to
 * `stub`, and a sha256 of the layer, started together; the time until the last one is done.
 * @param {import('../stub-daemon.mjs').StubDaemon} stub
 * @param {{ layerTar: string, archive: string }} image @param {string} dir
 */
async function floorOnce(stub, image, dir) {
  const target = mkdtempSync(join(dir, 'floor-tar-x-'));
  try {
    const started = performance.now();
    const hashed = pipeline(
      createReadStream(image.layerTar, { highWaterMark: 1024 * 1024 }),
      createHash('sha256'),
    ).then(() => performance.now());
    const [tar, upload, hashedAt] = await Promise.all([
      mustRun('tar', ['--numeric-owner', '-xf', image.layerTar, '-C', target]),
      load(stub, image.archive),
      hashed,
    ]);
    if (upload.code !== 0)
      throw new Error(`docker load to the stub daemon failed (exit ${upload.code}): ${upload.stderr.trim()}`);
    return Math.max(tar.ended, upload.ended, hashedAt) - started;
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
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

  /** @type {{ tsd: number[], ref: number[], tar: number[], floor: number[] }} */
  const samples = { tsd: [], ref: [], tar: [], floor: [] };
  let cachesKept = false;
  await withStubDaemon(join(dir, 'stub'), async (stub) => {
    for (let i = 0; i < ctx.opts.loadReps; i++) {
      // tar -x first, then the daemons, alternating their order, then the floor.
      const target = mkdtempSync(join(dir, 'tar-x-'));
      if (!(await settle(image.layerTar))) cachesKept = true;
      const t = await mustRun('tar', ['--numeric-owner', '-xf', image.layerTar, '-C', target]);
      samples.tar.push(t.ms);
      rmSync(target, { recursive: true, force: true });
      const order = i % 2 === 0 ? loaders : [...loaders].reverse();
      for (const d of order) {
        if (!(await settle(image.archive))) cachesKept = true;
        const r = await load(d, image.archive);
        if (r.code !== 0)
          throw new Error(`${d.name}: docker load failed (exit ${r.code}): ${r.stderr.trim()}`);
        (d === ctx.tsd ? samples.tsd : samples.ref).push(r.ms);
        const rm = await d.docker(['rmi', image.tag], { timeoutMs: 300_000 });
        if (rm.code !== 0) throw new Error(`${d.name}: docker rmi ${image.tag} failed: ${rm.stderr.trim()}`);
      }
      if (!(await settle(image.layerTar, image.archive))) cachesKept = true;
      const floorMs = await floorOnce(stub, image, dir);
      samples.floor.push(floorMs);
      ctx.log(
        `  rep ${i + 1}/${ctx.opts.loadReps}: tar -x ${(t.ms / 1000).toFixed(1)} s, floor ${(floorMs / 1000).toFixed(1)} s`,
      );
    }
  });
  rmSync(dir, { recursive: true, force: true });

  const tar = summarize(samples.tar);
  const tsd = samples.tsd.length ? summarize(samples.tsd) : null;
  const ref = samples.ref.length ? summarize(samples.ref) : null;
  const label = `load ${ctx.opts.loadMb} MiB image`;
  const floor = loadFloor(samples.floor, tar.median, TARGET);
  const detail = {
    samples,
    tar,
    tsd,
    ref,
    floor: floor.detail,
    layerBytes: image.layerBytes,
    files: image.files,
  };
  const rows = [];
  if (tsdProblem) {
    rows.push({
      ...unavailableRow(
        'load-vs-tar',
        `${label} vs tar -x`,
        `tsdocker: not available (${tsdProblem}); ${floor.note}`,
        TARGET,
      ),
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
        target: TARGET,
        note: floor.note,
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

/**
 * The floor's figures for the JSON, and the note that states them: its median as a share of
 * `tar -x`'s, and whether `target` is below it.
 * @param {number[]} samples @param {number} tarMedian @param {number} target
 */
function loadFloor(samples, tarMedian, target) {
  const floor = summarize(samples);
  const ratio = floor.median / tarMedian;
  const note =
    `the work of a load done by native tools — tar -x, the docker CLI's upload to a stub daemon and a sha256 ` +
    `of the layer, side by side — takes ${formatMs(floor.median)} = ${ratio.toFixed(2)} × tar -x, the floor under a daemon's ratio` +
    floorVerdict(target, ratio);
  const detail = {
    what: 'tar -x of the layer, docker load -i to a stub daemon that reads and drops the upload, and a sha256 of the layer, started together; until the last ends',
    ...floor,
    ratioToTar: ratio,
    targetBelowFloor: target < ratio,
  };
  return { detail, note };
}
