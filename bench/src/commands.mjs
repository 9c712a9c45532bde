/**
 * Runs commands (mostly the docker CLI) and times them from spawn to exit with the monotonic clock.
 */
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** The one docker CLI both daemons are driven by. */
export const DOCKER_CLI = '/usr/local/bin/docker';

/**
 * @typedef {object} CommandResult
 * @property {number} code       exit code (-1 when killed by a signal)
 * @property {number} ms         spawn → exit
 * @property {number} started    performance.now() at spawn
 * @property {number} ended      performance.now() at exit
 * @property {string} stdout
 * @property {string} stderr
 */

/**
 * Runs `cmd args` and resolves when it exits (never rejects on a non-zero exit: callers decide).
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, input?: string, timeoutMs?: number, captureStdout?: boolean }} [opts]
 * @returns {Promise<CommandResult>}
 */
export function runCommand(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const captureStdout = opts.captureStdout ?? true;
    const started = performance.now();
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', captureStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    let ended = 0;
    let code = 0;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    // 'exit' is the moment we time; 'close' (all output read) is when we resolve.
    child.on('exit', (c) => {
      ended = performance.now();
      code = c ?? -1;
    });
    child.on('close', () => {
      if (timer) clearTimeout(timer);
      resolve({ code, ms: ended - started, started, ended, stdout, stderr });
    });
  });
}

/**
 * Like runCommand but throws with the command's stderr when it fails.
 * @param {string} cmd @param {string[]} args @param {Parameters<typeof runCommand>[2]} [opts]
 */
export async function mustRun(cmd, args, opts = {}) {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r;
}

/**
 * Synchronous, for snapshots and clean-up paths that must not interleave with anything.
 * @param {string} cmd @param {string[]} args
 */
export function runSync(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** True when `cmd` resolves on PATH. @param {string} cmd */
export function haveCommand(cmd) {
  return runSync('sh', ['-c', `command -v ${cmd}`]).code === 0;
}
