/**
 * The reference: the real dockerd from Debian's docker.io package, started by the bench on its
 * own socket, data root, exec root, pid file and cgroup parent, with the containerd it starts
 * itself (its socket, state and config land under our exec root), in a network namespace of its
 * own so its docker0 bridge and iptables rules never touch the host's. docker-init (tini, from the
 * same package) runs as a subreaper above it, so containerd's shims, which daemonize, stay in our
 * process tree and their zombies are reaped.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { haveCommand } from '../commands.mjs';
import { childrenMap, descendants, parentMap } from '../process-tree.mjs';
import { Daemon } from './daemon.mjs';

/** Why dockerd cannot be the reference on this machine, or null when it can be. */
export function referenceUnavailable() {
  if (!haveCommand('dockerd')) return "dockerd is not installed (bench/setup.sh installs Debian's docker.io)";
  if (!haveCommand('containerd')) return 'containerd is not installed';
  if (!haveCommand('unshare')) return 'unshare (util-linux) is not installed';
  // dockerd 20.10 uses a system containerd when this socket exists instead of starting its own.
  if (existsSync('/run/containerd/containerd.sock'))
    return 'a system containerd is running (/run/containerd/containerd.sock); dockerd would use it instead of its own';
  return null;
}

export class ReferenceDaemon extends Daemon {
  /** @param {{ root: string, runId: string }} o */
  constructor(o) {
    super({ name: 'dockerd', root: o.root, cgroupParent: `tsd-bench-${o.runId}-ref` });
    this.pidFile = join(o.root, 'docker.pid');
    this.execStateDepth = 5; // containerd's task dirs sit at exec/containerd/daemon/<runtime>/moby/<id>
    this.containerdPid = 0;
    // libnetwork unmounts a sandbox's netns at removal but deletes the empty file only in a
    // garbage-collection pass a minute later; a netns still mounted shows up among the mounts.
    this.ignoreExecEntry = (/** @type {string} */ path) => path.startsWith('netns/');
  }

  async start() {
    mkdirSync(this.root, { recursive: true });
    const configFile = join(this.root, 'daemon.json');
    writeFileSync(configFile, '{}\n'); // never /etc/docker/daemon.json
    const reaper = haveCommand('docker-init') ? ['docker-init', '-s', '--'] : [];
    this.spawnInOwnNetns([
      ...reaper,
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      'dockerd',
      '--config-file',
      configFile,
      '--host',
      this.host,
      '--data-root',
      this.dataRoot,
      '--exec-root',
      this.execRoot,
      '--pidfile',
      this.pidFile,
      '--cgroup-parent',
      this.cgroupParent,
    ]);
    await this.waitReady();
    this.pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    const containerdPidFile = join(this.execRoot, 'containerd', 'containerd.pid');
    for (let i = 0; i < 50 && !this.containerdPid; i++) {
      if (existsSync(containerdPidFile))
        this.containerdPid = Number(readFileSync(containerdPidFile, 'utf8').trim());
      else await delay(100);
    }
    const tree = descendants([this.pid], childrenMap(parentMap()));
    if (!this.containerdPid || !tree.has(this.containerdPid))
      throw new Error(`dockerd did not start its own containerd under ${this.execRoot}:\n${this.logTail()}`);
    const v = await this.mustDocker([
      'version',
      '--format',
      '{{.Server.Version}}|{{range .Server.Components}}{{.Name}} {{.Version}};{{end}}',
    ]);
    const [version, components] = v.stdout.trim().split('|');
    const info = await this.mustDocker(['info', '--format', '{{.Driver}}']);
    this.storage = info.stdout.trim();
    const parts = components
      .split(';')
      .filter((c) => c && !c.startsWith('Engine'))
      .join(', ');
    this.description = `dockerd ${version} (storage ${this.storage}; ${parts})`;
  }

  /** @override */
  corePids() {
    return [this.pid, this.containerdPid].filter((p) => p > 0);
  }

  /** @override */
  stopPid() {
    return this.pid;
  }
}
