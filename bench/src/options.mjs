/**
 * The bench's command line. Every count has a default sized so the whole default run finishes in
 * about ten minutes on a 2-core machine; flags pick cases and change counts.
 */
import { parseArgs } from 'node:util';

/** Case names in the order they run (the order reuses state: create leaves 100 containers for ps). */
export const ALL_CASES = [
  'rss-idle',
  'run',
  'run-none',
  'exec',
  'create',
  'ps',
  'timing',
  'load',
  'mem-running',
  'stress',
];

/**
 * @typedef {object} BenchOptions
 * @property {string[]} cases
 * @property {boolean} reference   start dockerd as the reference
 * @property {number} reps         repetitions of the single-command latency cases (run, run-none)
 * @property {number} execReps
 * @property {number} psReps
 * @property {number} warmup       untimed runs per daemon before each latency case
 * @property {number} createCount  containers per `create` sample
 * @property {number} createReps   samples of `create ×N`
 * @property {number} timingReps   `docker run --rm` runs through the recording proxy, per daemon
 * @property {number} loadMb       size of the generated image for `load`
 * @property {number} loadReps
 * @property {number} running      containers for the memory case
 * @property {number} workers      stress workers
 * @property {number} seconds      stress duration per daemon
 * @property {string | undefined} storageDriver  tsdocker's storage driver (default: its own choice)
 * @property {string | undefined} tsdockerBin  another build of the CLI's dist/bin.js to bench
 * @property {string | undefined} json  where to write the JSON result
 * @property {boolean} keep        keep the temp dir (daemon logs) after the run
 * @property {boolean} setup       run bench/setup.sh first
 * @property {boolean} cleanupStale  only clean up after runs that were killed outright
 */

const HELP = `Usage: pnpm bench [options]        (or: node bench/run.mjs [options])

Runs tsdocker and the real dockerd (Debian's docker.io, started on its own temp roots) side by side
with the same docker CLI and busybox image, and prints medians and ratios (tsdocker / dockerd).

  --cases a,b,...      cases to run (default: all): ${ALL_CASES.join(', ')}
  --stress             stress only (same as --cases stress); with --workers N --seconds T
  --workers N          concurrent create→start→wait→rm workers in the stress case (default 4)
  --seconds T          stress duration per daemon (default 20)
  --reps N             runs of run/run-none per daemon (default 20)
  --exec-reps N        runs of exec per daemon (default 30)
  --ps-reps N          runs of ps -a per daemon (default 30)
  --warmup N           untimed runs per daemon before each latency case (default 2)
  --create-count N     containers per create sample (default 100)
  --create-reps N      create samples per daemon (default 3)
  --timing-reps N      proxied runs for the run --rm timing model (default 10)
  --load-mb N          size of the generated image for load (default 350)
  --load-reps N        load / tar -x repetitions (default 3)
  --running N          running containers for the memory case (default 100)
  --no-reference       do not start dockerd; report tsdocker's absolute figures only
  --storage-driver D   tsdocker's storage driver (default: the daemon's own choice)
  --tsdocker-bin FILE  bench another build: that checkout's packages/cli/dist/bin.js
  --json FILE          result file (default: bench/results/bench-<time>.json)
  --keep               keep the temp dir with both daemons' logs
  --no-setup           do not run bench/setup.sh (apt-get install docker.io busybox-static)
  --cleanup-stale      only remove what runs killed outright left behind (daemons, mounts, cgroups)
  -h, --help           this text`;

/** @param {string[]} argv @returns {BenchOptions | null} null when help was printed */
export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      cases: { type: 'string' },
      stress: { type: 'boolean', default: false },
      workers: { type: 'string' },
      seconds: { type: 'string' },
      reps: { type: 'string' },
      'exec-reps': { type: 'string' },
      'ps-reps': { type: 'string' },
      warmup: { type: 'string' },
      'create-count': { type: 'string' },
      'create-reps': { type: 'string' },
      'timing-reps': { type: 'string' },
      'load-mb': { type: 'string' },
      'load-reps': { type: 'string' },
      running: { type: 'string' },
      'no-reference': { type: 'boolean', default: false },
      'storage-driver': { type: 'string' },
      'tsdocker-bin': { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'no-setup': { type: 'boolean', default: false },
      'cleanup-stale': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return null;
  }
  let cases = ALL_CASES;
  if (values.cases) {
    cases = values.cases.split(',').map((c) => c.trim());
    const unknown = cases.filter((c) => !ALL_CASES.includes(c));
    if (unknown.length)
      throw new Error(`unknown case(s): ${unknown.join(', ')} (known: ${ALL_CASES.join(', ')})`);
  } else if (values.stress) {
    cases = ['stress'];
  }
  /** @param {string | undefined} v @param {string} name @param {number} def @param {number} min */
  const int = (v, name, def, min = 1) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be a whole number ≥ ${min}, got ${v}`);
    return n;
  };
  return {
    cases,
    reference: !values['no-reference'],
    reps: int(values.reps, 'reps', 20),
    execReps: int(values['exec-reps'], 'exec-reps', 30),
    psReps: int(values['ps-reps'], 'ps-reps', 30),
    warmup: int(values.warmup, 'warmup', 2, 0),
    createCount: int(values['create-count'], 'create-count', 100),
    createReps: int(values['create-reps'], 'create-reps', 3),
    timingReps: int(values['timing-reps'], 'timing-reps', 10),
    loadMb: int(values['load-mb'], 'load-mb', 350),
    loadReps: int(values['load-reps'], 'load-reps', 3),
    running: int(values.running, 'running', 100),
    workers: int(values.workers, 'workers', 4),
    seconds: int(values.seconds, 'seconds', 20),
    storageDriver: values['storage-driver'],
    tsdockerBin: values['tsdocker-bin'],
    json: values.json,
    keep: values.keep,
    setup: !values['no-setup'],
    cleanupStale: values['cleanup-stale'],
  };
}
