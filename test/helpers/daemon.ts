/**
 * Runs a real tsdocker daemon (the built CLI's `tsdocker daemon`) on its own temp data root, exec
 * root and socket, and the real docker CLI against it. Everything is removed in `stop()`, which
 * tests call from afterAll/afterEach so a failing test still cleans up.
 */
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isolatedNetworkNames, type NetworkNames, removeNetworkLeftovers } from './network-names.js';

const require = createRequire(import.meta.url);
export const CLI_BIN = join(dirname(require.resolve('@tsdocker/cli/package.json')), 'dist/bin.js');

export interface DaemonHandle {
  dir: string;
  socket: string;
  host: string;
  dataRoot: string;
  execRoot: string;
  /** The names of this daemon's bridge, veths and iptables chains (unique to it). */
  network: NetworkNames;
  process: ChildProcess;
  logs(): string;
  /** Runs the real docker CLI against this daemon. */
  docker(
    args: string[],
    opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> },
  ): SpawnSyncReturns<string>;
  /** Stops the daemon with SIGTERM and waits for it; returns its exit code. */
  terminate(): Promise<number | null>;
  /** Starts the daemon again on the same roots (restart tests). */
  restart(): Promise<void>;
  /** Stops the daemon and removes every file it made. */
  stop(): Promise<void>;
}

/** Per-container runtime dirs the exec driver still has (it removes each at cleanup). */
function leftoverContainerState(execRoot: string): string[] {
  const dir = join(execRoot, 'native');
  return existsSync(dir) ? readdirSync(dir).filter((name) => /^[0-9a-f]{64}$/.test(name)) : [];
}

/** Removes container `id`'s cgroups (v1: one per controller; v2: one), by its id only. */
function removeCgroups(id: string): void {
  const candidates = [`/sys/fs/cgroup/tsdocker/${id}`];
  for (const controller of readdirSync('/sys/fs/cgroup'))
    candidates.push(`/sys/fs/cgroup/${controller}/tsdocker/${id}`);
  for (const path of candidates) if (existsSync(path)) spawnSync('rmdir', [path]);
}

export async function startDaemon(
  opts: {
    config?: Record<string, unknown>;
    /** More `hosts` besides the daemon's own unix socket (e.g. `tcp://127.0.0.1:0` with TLS). */
    extraHosts?: string[];
  } = {},
): Promise<DaemonHandle> {
  if (process.getuid?.() !== 0)
    throw new Error('end-to-end tests must run as root (namespaces, cgroups, mounts)');
  const dir = mkdtempSync(join(tmpdir(), 'tsd-e2e-'));
  const network = isolatedNetworkNames();
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const socket = join(dir, 'tsdocker.sock');
  const configFile = join(dir, 'daemon.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      'data-root': dataRoot,
      'exec-root': execRoot,
      hosts: [`unix://${socket}`, ...(opts.extraHosts ?? [])],
      'storage-driver': 'vfs',
      ...network.config,
      ...opts.config,
    }),
  );
  const logFile = join(dir, 'daemon.log');
  let child: ChildProcess;

  const launch = async () => {
    const out = require('node:fs').openSync(logFile, 'a');
    child = spawn(process.execPath, [CLI_BIN, 'daemon', '--config-file', configFile], {
      stdio: ['ignore', out, out],
    });
    for (let i = 0; i < 300; i++) {
      if (existsSync(socket)) {
        const ping = spawnSync('docker', ['version', '--format', '{{.Server.APIVersion}}'], {
          env: { ...process.env, DOCKER_HOST: `unix://${socket}` },
          encoding: 'utf8',
        });
        if (ping.status === 0) return;
      }
      if (child.exitCode !== null) break;
      await delay(100);
    }
    throw new Error(`tsdocker daemon did not come up:\n${readFileSync(logFile, 'utf8')}`);
  };
  await launch();

  const handle: DaemonHandle = {
    dir,
    socket,
    host: `unix://${socket}`,
    dataRoot,
    execRoot,
    network,
    get process() {
      return child;
    },
    logs: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    docker(args, o = {}) {
      return spawnSync('docker', args, {
        env: {
          ...process.env,
          DOCKER_HOST: `unix://${socket}`,
          DOCKER_CONFIG: join(dir, 'docker-config'),
          ...o.env,
        },
        input: o.input ?? '',
        encoding: 'utf8',
        timeout: o.timeoutMs ?? 60_000,
      });
    },
    async terminate() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async restart() {
      await handle.terminate();
      await launch();
    },
    async stop() {
      await handle.terminate();
      const leaked = leftoverContainerState(execRoot);
      // Anything a crashed daemon left mounted under our root goes before the files do.
      spawnSync('sh', ['-c', `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
      for (const id of leaked) removeCgroups(id);
      removeNetworkLeftovers(network);
      rmSync(dir, { recursive: true, force: true });
      if (leaked.length)
        throw new Error(`the daemon left container state behind after shutdown: ${leaked.join(', ')}`);
    },
  };
  return handle;
}
