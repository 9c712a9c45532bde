/**
 * What both daemons have in common: a temp root with their own socket, data root and exec root;
 * the docker CLI pointed at them; readiness; process groups for memory figures; snapshots of the
 * kernel state they own for leak checks; stopping by PID and removing everything by our own names.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DOCKER_CLI, runCommand } from '../commands.mjs';
import {
  cgroupChildren,
  killCgroupProcesses,
  listTree,
  mountsUnder,
  removeCgroups,
  unmountUnder,
} from '../host-resources.mjs';
import { childrenMap, commandLine, descendants, isAlive, namespacesOf, parentMap } from '../process-tree.mjs';

/**
 * Environment for the docker CLI: only what it needs, nothing from the user's docker config.
 * @param {string} host @param {string} configDir
 */
export function cliEnv(host, configDir) {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TZ']) if (process.env[k] !== undefined) env[k] = process.env[k];
  env.DOCKER_HOST = host;
  env.DOCKER_CONFIG = configDir;
  env.DOCKER_CLI_HINTS = 'false';
  return env;
}

/**
 * @typedef {object} StateSnapshot
 * @property {string[]} mounts       mounts below the daemon's root
 * @property {string[]} cgroups      container cgroups below the daemon's cgroup parent
 * @property {string[]} execState    entries of the exec root (a few levels deep)
 * @property {number[]} strayProcesses  processes in the daemon's tree besides the daemon itself
 * @property {string[]} namespaces   namespaces those stray processes hold
 */

export class Daemon {
  /**
   * @param {object} o
   * @param {'tsdocker' | 'dockerd'} o.name
   * @param {string} o.root         temp dir owned by this daemon
   * @param {string} o.cgroupParent a name unique to this run
   */
  constructor(o) {
    this.name = o.name;
    this.root = o.root;
    this.cgroupParent = o.cgroupParent;
    this.dataRoot = join(o.root, 'data');
    this.execRoot = join(o.root, 'exec');
    this.socket = join(o.root, 'docker.sock');
    this.host = `unix://${this.socket}`;
    this.logFile = join(o.root, 'daemon.log');
    mkdirSync(join(o.root, 'cli-config'), { recursive: true });
    this.env = cliEnv(this.host, join(o.root, 'cli-config'));
    /** The process the bench spawned (unshare → …); its pid is the root of the daemon's tree. */
    /** @type {import('node:child_process').ChildProcess | undefined} */
    this.child = undefined;
    /** @type {number} the daemon's own pid */
    this.pid = 0;
    /** Human description for the report (version, drivers). */
    this.description = '';
    /** @type {{ pid: number, start: string }[]} processes seen in our tree, killed by pid if they outlive stop() */
    this.seen = [];
    /** How deep the exec root is listed for leak checks. */
    this.execStateDepth = 3;
    /** Exec-root entries that are not state a container left (see the reference daemon). */
    this.ignoreExecEntry = (/** @type {string} */ _path) => false;
    /** @type {Promise<unknown>} */
    this.childExited = Promise.resolve();
  }

  /**
   * Starts `argv` in a network namespace of its own (so nothing the daemon does to networking
   * reaches the host), with loopback up, stdout/stderr to the daemon log.
   * @param {string[]} argv
   */
  spawnInOwnNetns(argv) {
    const log = openSync(this.logFile, 'a');
    this.child = spawn('unshare', ['--net', '--', ...argv], {
      stdio: ['ignore', log, log],
      detached: false,
    });
    this.childExited = new Promise((resolve) => this.child?.once('exit', () => resolve(undefined)));
  }

  /** Runs the docker CLI against this daemon. @param {string[]} args @param {Parameters<typeof runCommand>[2]} [opts] */
  docker(args, opts = {}) {
    return runCommand(DOCKER_CLI, args, { ...opts, env: this.env });
  }

  /** Like docker() but throws with the CLI's stderr on failure. @param {string[]} args */
  async mustDocker(args, opts = {}) {
    const r = await this.docker(args, opts);
    if (r.code !== 0)
      throw new Error(`${this.name}: docker ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r;
  }

  /** HEAD /_ping straight on the socket. */
  ping() {
    return new Promise((resolve) => {
      const req = request(
        { socketPath: this.socket, path: '/_ping', method: 'HEAD', timeout: 2000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  /** Waits until the socket answers; throws with the log's tail when the daemon dies or times out. */
  async waitReady(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (existsSync(this.socket) && (await this.ping())) return;
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined)
        throw new Error(
          `${this.name} exited (code ${this.child.exitCode}) during start-up:\n${this.logTail()}`,
        );
      await delay(100);
    }
    throw new Error(
      `${this.name} did not answer on ${this.socket} within ${timeoutMs / 1000} s:\n${this.logTail()}`,
    );
  }

  logTail(lines = 30) {
    if (!existsSync(this.logFile)) return '(no log)';
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** The daemon's own long-lived processes (tsdocker: one; dockerd: dockerd and its containerd). */
  corePids() {
    return [this.pid];
  }

  /** Every process in this daemon's tree (the spawned root and below), refreshed. */
  treePids() {
    const roots = [this.child?.pid ?? this.pid, this.pid].filter((p) => p > 0);
    const tree = descendants(roots, childrenMap(parentMap()));
    this.remember(tree);
    return tree;
  }

  /** @param {Iterable<number>} pids */
  remember(pids) {
    for (const pid of pids) {
      if (this.seen.some((s) => s.pid === pid)) continue;
      const start = startTime(pid);
      if (start) this.seen.push({ pid, start });
    }
  }

  /**
   * The processes whose memory counts as the daemon's: its core processes plus every shim, i.e.
   * the parent of each container's init (found from `docker inspect`, not by name), minus the
   * containers' own processes.
   * @param {string[]} containerIds
   */
  async memoryGroup(containerIds) {
    /** @type {number[]} */
    const inits = [];
    for (let i = 0; i < containerIds.length; i += 50) {
      const r = await this.mustDocker([
        'inspect',
        '--format',
        '{{.State.Pid}}',
        ...containerIds.slice(i, i + 50),
      ]);
      for (const line of r.stdout.split('\n')) if (Number(line) > 0) inits.push(Number(line));
    }
    const parents = parentMap();
    const children = childrenMap(parents);
    const containerProcs = descendants(inits, children);
    const group = new Set(this.corePids().flatMap((p) => [...descendants([p], children)]));
    for (const init of inits) {
      const shim = parents.get(init);
      if (shim && shim > 1) group.add(shim);
    }
    for (const p of containerProcs) group.delete(p);
    this.remember(group);
    return { pids: [...group], inits: inits.length };
  }

  /** @returns {StateSnapshot} */
  snapshotState() {
    const tree = this.treePids();
    const core = new Set(this.corePids());
    if (this.child?.pid) core.add(this.child.pid);
    const stray = [...tree].filter((p) => !core.has(p));
    const hostNs = new Set(namespacesOf(process.pid));
    const namespaces = new Set(stray.flatMap((p) => namespacesOf(p)).filter((n) => !hostNs.has(n)));
    return {
      mounts: mountsUnder(this.root),
      cgroups: cgroupChildren(this.cgroupParent),
      execState: listTree(this.execRoot, this.execStateDepth).filter((p) => !this.ignoreExecEntry(p)),
      strayProcesses: stray,
      namespaces: [...namespaces].sort(),
    };
  }

  /** Ids of every container the daemon has. */
  async containerIds() {
    const r = await this.docker(['ps', '-aq', '--no-trunc']);
    return r.stdout.split('\n').filter(Boolean);
  }

  /** Force-removes every container (in batches, one CLI call each). */
  async removeAllContainers() {
    const ids = await this.containerIds();
    for (let i = 0; i < ids.length; i += 50)
      await this.docker(['rm', '-f', ...ids.slice(i, i + 50)], { timeoutMs: 300_000 });
    return ids.length;
  }

  /** The pid to send SIGTERM to. */
  stopPid() {
    return this.pid;
  }

  /**
   * Stops the daemon by PID (SIGTERM, then SIGKILL after `graceMs`), kills any process of its tree
   * that outlived it (by pid, checked against its start time), unmounts what is left under its
   * root, removes its cgroups by our parent name, and deletes the root unless `keep`.
   * @returns {Promise<string[]>} problems found while cleaning up (empty when all was clean)
   */
  async stop({ keep = false, graceMs = 45_000 } = {}) {
    const problems = [];
    if (this.pid > 0) this.treePids();
    const core = this.corePids();
    const pid = this.stopPid();
    if (pid > 0 && isAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (isAlive(pid) && Date.now() < deadline) await delay(100);
      if (isAlive(pid)) {
        problems.push(`${this.name} (pid ${pid}) ignored SIGTERM for ${graceMs / 1000} s; killed`);
        process.kill(pid, 'SIGKILL');
      }
    }
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([this.childExited, delay(10_000)]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    // Helpers the daemon stops itself on the way out (dockerd's containerd) get a moment to finish.
    for (let i = 0; i < 100 && core.some(isAlive); i++) await delay(100);
    const survivors = this.seen.filter((s) => isAlive(s.pid) && startTime(s.pid) === s.start);
    for (const s of survivors) {
      problems.push(`process ${s.pid} (${commandLine(s.pid)}) outlived ${this.name}; killed`);
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (survivors.length) await delay(500);
    const unmounted = unmountUnder(this.root);
    if (unmounted) problems.push(`${unmounted} mount(s) were left under ${this.root}; unmounted`);
    const killed = killCgroupProcesses(this.cgroupParent);
    if (killed) {
      problems.push(`${killed} container process(es) outlived ${this.name} in its cgroups; killed`);
      await delay(500);
    }
    const stuck = removeCgroups(this.cgroupParent);
    for (const s of stuck) problems.push(`cgroup not removable: ${s}`);
    if (!keep) rmSync(this.root, { recursive: true, force: true });
    return problems;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks): tells a reused pid from ours. @param {number} pid */
function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}
