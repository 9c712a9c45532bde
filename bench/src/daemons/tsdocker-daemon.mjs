/**
 * tsdocker's daemon, as users run it: the built CLI's `tsdocker daemon`, on the bench's own
 * socket, data root, exec root and cgroup parent, in a network namespace of its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { childrenMap, commandLine, parentMap } from '../process-tree.mjs';
import { Daemon } from './daemon.mjs';

const require = createRequire(import.meta.url);
export const TSDOCKER_BIN = join(dirname(require.resolve('@tsdocker/cli/package.json')), 'dist/bin.js');

export class TsdockerDaemon extends Daemon {
  /** @param {{ root: string, runId: string, storageDriver?: string, bin?: string }} o */
  constructor(o) {
    super({ name: 'tsdocker', root: o.root, cgroupParent: `tsd-bench-${o.runId}-tsd` });
    this.storageDriver = o.storageDriver;
    this.bin = o.bin ?? TSDOCKER_BIN;
  }

  async start() {
    mkdirSync(this.root, { recursive: true });
    const configFile = join(this.root, 'daemon.json');
    writeFileSync(
      configFile,
      JSON.stringify(
        {
          'data-root': this.dataRoot,
          'exec-root': this.execRoot,
          hosts: [this.host],
          'exec-opts': [`cgroup-parent=${this.cgroupParent}`],
          ...(this.storageDriver ? { 'storage-driver': this.storageDriver } : {}),
        },
        null,
        2,
      ),
    );
    this.spawnInOwnNetns([
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      this.bin,
      'daemon',
      '--config-file',
      configFile,
    ]);
    // unshare and sh exec in place: the spawned pid is the daemon's.
    this.pid = this.child?.pid ?? 0;
    await this.waitReady();
    const info = await this.mustDocker([
      'info',
      '--format',
      '{{.ServerVersion}} {{.Driver}} {{.DefaultRuntime}}',
    ]);
    const [version, driver, runtime] = info.stdout.trim().split(' ');
    this.description = `tsdocker ${version} (storage ${driver}, exec ${runtime}, node ${process.versions.node})`;
    this.storage = driver;
  }

  /**
   * The daemon plus its long-lived helpers (the overlay driver's `tsd-mount`): their memory is
   * the daemon's, and they are not leftovers.
   * @override
   */
  corePids() {
    if (!(this.pid > 0)) return [];
    const helpers = [...(childrenMap(parentMap()).get(this.pid) ?? [])].filter((pid) =>
      /(^|\/)tsd-mount(\s|$)/.test(commandLine(pid)),
    );
    return [this.pid, ...helpers];
  }
}
