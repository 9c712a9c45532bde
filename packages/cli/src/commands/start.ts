/**
 * `tsdocker start`: without `-a`/`-i`, `POST /containers/{name}/start` for each container in
 * turn, printing its name. With `-a`/`-i` (one container): inspect → attach → wait → start →
 * stream, and the container's exit code, like `run`.
 */
import type { Command } from 'commander';
import { CliError, ExitStatus, UsageError } from '../cli-errors.js';
import {
  attachContainer,
  exitCodeFromWait,
  failedWait,
  killContainer,
  type PendingWait,
  resizeContainer,
  startContainer,
  waitForContainer,
} from '../container/lifecycle.js';
import type { CommandContext } from '../context.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../streams/detach-keys.js';
import { pumpHijackedStreams } from '../streams/hijacked-streams.js';
import { proxySignals } from '../streams/signal-proxy.js';
import { isTerminal, withTtySizeSync } from '../streams/tty.js';

interface StartOptions {
  attach?: boolean;
  interactive?: boolean;
  detachKeys?: string;
}

interface ContainerInspect {
  Id: string;
  Config?: { Tty?: boolean; OpenStdin?: boolean };
  HostConfig?: { AutoRemove?: boolean };
}

export function registerStartCommand(program: Command, ctx: CommandContext): void {
  program
    .command('start')
    .summary('Start one or more stopped containers')
    .description('Start one or more stopped containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('-i, --interactive', "Attach container's STDIN")
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .action(async (containers: string[], options: StartOptions) => {
      if (options.attach || options.interactive) {
        if (containers.length > 1)
          throw new CliError('you cannot start and attach multiple containers at once');
        await startAttached(ctx, containers[0] as string, options);
        return;
      }
      const client = ctx.client();
      const failed: string[] = [];
      for (const name of containers) {
        try {
          await startContainer(client, name);
          ctx.io.stdout.write(`${name}\n`);
        } catch (err) {
          ctx.io.stderr.write(`${(err as Error).message}\n`);
          failed.push(name);
        }
      }
      if (failed.length > 0) throw new CliError(`Error: failed to start containers: ${failed.join(', ')}`);
    });
}

async function startAttached(ctx: CommandContext, name: string, options: StartOptions): Promise<void> {
  const { io } = ctx;
  let detachKeys: Buffer = DEFAULT_DETACH_KEYS;
  try {
    if (options.detachKeys !== undefined) detachKeys = parseDetachKeys(options.detachKeys);
  } catch (err) {
    throw new UsageError((err as Error).message, 'start');
  }
  const client = ctx.client();
  const info = await client.json<ContainerInspect>('GET', `/containers/${name}/json`);
  const id = info.Id;
  const tty = info.Config?.Tty === true;
  const stdinAttached = options.interactive === true && info.Config?.OpenStdin === true;
  if (stdinAttached && tty && !isTerminal(io.stdin)) throw new CliError('the input device is not a TTY');

  // Signals are forwarded only for non-TTY containers (a TTY gets ^C as input instead).
  const stopSignalProxy = tty ? () => {} : proxySignals((signal) => killContainer(client, id, signal));
  let wait: PendingWait | undefined;
  try {
    const socket = await attachContainer(client, id, { stdin: stdinAttached });
    const streams = pumpHijackedStreams({
      socket,
      tty,
      stdin: stdinAttached ? io.stdin : null,
      stdout: io.stdout,
      stderr: io.stderr,
      detachKeys,
    });
    // Awaited below; this only keeps an early failure from counting as unhandled meanwhile.
    streams.catch(() => {});
    wait = await waitForContainer(client, id, info.HostConfig?.AutoRemove ? 'removed' : 'next-exit').catch(
      failedWait,
    );
    try {
      await startContainer(client, id);
    } catch (err) {
      socket.destroy();
      await streams.catch(() => {});
      if (info.HostConfig?.AutoRemove) await wait.result.catch(() => {});
      throw err;
    }
    const outcome = await withTtySizeSync(streams, {
      tty,
      stdout: io.stdout,
      stderr: io.stderr,
      resize: (rows, cols) => resizeContainer(client, id, rows, cols),
    });
    if (outcome === 'detached') return;
    const status = await exitCodeFromWait(wait, io.stderr);
    if (status !== 0) throw new ExitStatus(status);
  } finally {
    wait?.abandon();
    stopSignalProxy();
  }
}
