/**
 * The timing model of `docker run --rm busybox true`: where the milliseconds go.
 *
 * From the outside, for both daemons: the CLI talks to a recording proxy (recording-proxy.mjs) in
 * front of the daemon's socket, which timestamps each request and response; the run splits into
 * CLI start-up, ping, create, attach + wait set-up, start, run + exit, auto-remove and CLI exit.
 *
 * Inside `start`, for tsdocker, measured directly on its own drivers with no daemon in between:
 * the native exec driver starting a busybox `true` from a spec (cgroups + spec file + tsd-shim +
 * namespaces + mounts + pivot_root + exec) with all of Docker's namespaces, without the network
 * namespace, and with a mount namespace only; the bare cost of spawning tsd-shim; cgroup mkdir in
 * every hierarchy; reporting the exit; cleanup.
 */
import { cpSync, mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildTestSpec, randomContainerId } from '@tsdocker/core/testkit';
import native from '@tsdocker/execdriver-native';
import { DOCKER_CLI, runCommand } from '../commands.mjs';
import { removeCgroups } from '../host-resources.mjs';
import { RecordingProxy } from '../recording-proxy.mjs';
import { median } from '../stats.mjs';

/**
 * @typedef {import('./context.mjs').BenchContext} BenchContext
 * @typedef {import('../daemons/daemon.mjs').Daemon} Daemon
 * @typedef {import('../recording-proxy.mjs').RequestRecord} RequestRecord
 */

/** Phase names in the order they happen, with what each covers. */
export const PHASES = [
  ['cli-startup', 'CLI start-up (spawn → first request)'],
  ['ping', 'HEAD /_ping'],
  ['cli-gap', 'CLI between ping and create'],
  ['create', 'POST /containers/create (validate, image, rootfs layer, state)'],
  ['attach-wait', 'attach (hijack) + wait registered, until start is sent'],
  ['start', 'POST /containers/{id}/start (rootfs, namespaces, cgroups, network, exec)'],
  ['run-exit', 'process runs `true` and exits → attach stream closed'],
  ['remove', 'auto-remove → wait?condition=removed returns'],
  ['cli-exit', 'CLI exit after the last response'],
];

/**
 * Splits one proxied run into phases.
 * @param {RequestRecord[]} recs @param {number} spawned @param {number} exited
 * @returns {Record<string, number> | null} null when the run does not have the expected shape
 */
export function phasesOf(recs, spawned, exited) {
  const find = (/** @type {string} */ path, method = 'POST') =>
    recs.find((r) => r.path === path && r.method === method);
  const ping = recs.find((r) => r.path === '/_ping');
  const create = find('/containers/create');
  const attach = find('/containers/{id}/attach');
  const wait = find('/containers/{id}/wait');
  const start = find('/containers/{id}/start');
  if (!ping || !create || !attach || !wait || !start) return null;
  const last = Math.max(attach.end, wait.end);
  return {
    'cli-startup': ping.start - spawned,
    ping: ping.end - ping.start,
    'cli-gap': create.start - ping.end,
    create: create.end - create.start,
    'attach-wait': start.start - create.end,
    start: start.end - start.start,
    'run-exit': attach.end - start.end,
    remove: Math.max(0, wait.end - attach.end),
    'cli-exit': exited - last,
    total: exited - spawned,
  };
}

/**
 * @param {BenchContext} ctx @param {Daemon} d
 * @returns {Promise<{ phases: Record<string, number>, runs: Record<string, number>[], requests: RequestRecord[][] }>}
 */
async function proxiedRuns(ctx, d) {
  const sock = join(ctx.root, `proxy-${d.name}.sock`);
  const proxy = new RecordingProxy(sock, d.socket);
  await proxy.listen();
  const env = { ...d.env, DOCKER_HOST: `unix://${sock}` };
  const runs = [];
  const requests = [];
  try {
    for (let i = 0; i < ctx.opts.timingReps + 1; i++) {
      proxy.take();
      const r = await runCommand(DOCKER_CLI, ['run', '--rm', 'busybox', 'true'], { env, timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`${d.name}: proxied docker run failed: ${r.stderr.trim()}`);
      const recs = proxy.take();
      if (i === 0) continue; // warm-up
      const p = phasesOf(recs, r.started, r.ended);
      if (!p)
        throw new Error(
          `${d.name}: unexpected request sequence: ${recs.map((x) => `${x.method} ${x.path}`).join(', ')}`,
        );
      runs.push(p);
      requests.push(recs);
    }
  } finally {
    await proxy.close();
    rmSync(sock, { force: true });
  }
  /** @type {Record<string, number>} */
  const phases = {};
  for (const key of [...PHASES.map(([k]) => k), 'total']) phases[key] = median(runs.map((r) => r[key]));
  return { phases, runs, requests };
}

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Starts busybox `true` on tsdocker's native exec driver straight from a spec, `reps` times per
 * namespace variant, and times each step.
 * @param {BenchContext} ctx
 */
async function directShim(ctx) {
  const dir = join(ctx.root, 'direct');
  const cgroupParent = `${ctx.tsd.cgroupParent}-direct`;
  const driverCtx = {
    stateDir: join(dir, 'data', 'native'),
    runtimeDir: join(dir, 'exec', 'native'),
    dataRoot: join(dir, 'data'),
    execRoot: join(dir, 'exec'),
    logger: quietLogger,
  };
  mkdirSync(driverCtx.stateDir, { recursive: true });
  mkdirSync(driverCtx.runtimeDir, { recursive: true });
  const rootfs = join(dir, 'rootfs');
  cpSync(ctx.busybox.rootfs, rootfs, { recursive: true, verbatimSymlinks: true });
  const options = /** @type {NonNullable<typeof native.parseOptions>} */ (native.parseOptions)({
    'cgroup-parent': cgroupParent,
  });
  const driver = await native.create(driverCtx, options);
  const reps = Math.max(5, ctx.opts.timingReps);
  /** @type {Record<string, { type: string }[]>} */
  const variants = {
    'all namespaces (pid, net, mnt, ipc, uts)': [
      { type: 'pid' },
      { type: 'network' },
      { type: 'mount' },
      { type: 'ipc' },
      { type: 'uts' },
    ],
    'no network namespace': [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }],
    'mount namespace only': [{ type: 'mount' }],
  };
  /** @type {Record<string, { start: number, runExit: number, cleanup: number }>} */
  const results = {};
  try {
    for (const [name, namespaces] of Object.entries(variants)) {
      const samples = {
        start: /** @type {number[]} */ ([]),
        runExit: /** @type {number[]} */ ([]),
        cleanup: /** @type {number[]} */ ([]),
      };
      for (let i = 0; i < reps + 1; i++) {
        const id = randomContainerId();
        const spec = buildTestSpec({
          id,
          rootfs,
          args: ['/bin/true'],
          namespaces: /** @type {any} */ (namespaces),
        });
        const t0 = performance.now();
        const handle = await driver.start(spec);
        const t1 = performance.now();
        handle.stdout.resume();
        handle.stderr?.resume();
        await handle.exited;
        const t2 = performance.now();
        await driver.cleanup(id);
        const t3 = performance.now();
        if (i === 0) continue;
        samples.start.push(t1 - t0);
        samples.runExit.push(t2 - t1);
        samples.cleanup.push(t3 - t2);
      }
      results[name] = {
        start: median(samples.start),
        runExit: median(samples.runExit),
        cleanup: median(samples.cleanup),
      };
    }
  } finally {
    await driver.close();
  }

  // The floor under every start: spawning the shim binary at all.
  const spawnSamples = [];
  for (let i = 0; i < reps; i++) spawnSamples.push((await runCommand(options.shimPath, ['version'])).ms);

  // cgroup directories, one per v1 hierarchy (or the v2 tree), as a container start makes them.
  const hierarchies = readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((e) => e.isDirectory() && !['unified', 'systemd'].includes(e.name))
    .map((e) => join('/sys/fs/cgroup', e.name));
  const cgSamples = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const made = [];
    for (const h of hierarchies) {
      const path = join(h, cgroupParent, `probe-${i}`);
      mkdirSync(path, { recursive: true });
      made.push(path);
    }
    for (const p of made) rmdirSync(p);
    cgSamples.push(performance.now() - t0);
  }
  removeCgroups(cgroupParent);
  rmSync(dir, { recursive: true, force: true });
  return {
    variants: results,
    shimSpawn: median(spawnSamples),
    cgroupMkdir: median(cgSamples),
    hierarchies: hierarchies.length,
  };
}

/** @param {BenchContext} ctx */
export async function timingModel(ctx) {
  ctx.log('  proxied docker run --rm (tsdocker)…');
  const tsd = await proxiedRuns(ctx, ctx.tsd);
  let ref = null;
  if (ctx.ref) {
    ctx.log('  proxied docker run --rm (dockerd)…');
    ref = await proxiedRuns(ctx, ctx.ref);
  }
  ctx.log('  tsdocker exec driver, straight from a spec…');
  const direct = await directShim(ctx);
  ctx.shared.timingModel = { tsd, ref, direct };
  return [];
}
