/**
 * `tsdocker run`: create → attach (hijacked) → wait (headers first) → start → resize, then the
 * container's output until the daemon closes the stream, and the container's exit code — the
 * docker CLI's order, so no output is lost and `--rm` returns only once the container is gone.
 */
import type { Command } from 'commander';
import { CliError, ExitStatus, UsageError } from '../cli-errors.js';
import { DaemonError } from '../client/errors.js';
import {
  buildCreateRequest,
  type CreateRequest,
  FlagValueError,
  type RunFlags,
} from '../container/create-body.js';
import {
  attachContainer,
  exitCodeFromWait,
  failedWait,
  killContainer,
  type PendingWait,
  resizeContainer,
  startContainer,
  startFailureExitCode,
  waitForContainer,
} from '../container/lifecycle.js';
import { pullImage } from '../container/pull.js';
import type { CommandContext } from '../context.js';
import { familiarStringWithDefaultTag } from '../reference.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../streams/detach-keys.js';
import { pumpHijackedStreams } from '../streams/hijacked-streams.js';
import { proxySignals } from '../streams/signal-proxy.js';
import { isTerminal, terminalSize, withTtySizeSync } from '../streams/tty.js';
import { collect } from './options.js';

interface RunOptions extends RunFlags {
  detachKeys?: string;
}

export function registerRunCommand(program: Command, ctx: CommandContext): void {
  program
    .command('run')
    .summary('Create and run a new container from an image')
    .description('Create and run a new container from an image')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<image>')
    .argument('[command...]')
    .helpOption('--help', 'Print usage')
    .passThroughOptions()
    .option('-d, --detach', 'Run container in background and print container ID')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--name <string>', 'Assign a name to the container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-h, --hostname <string>', 'Container host name')
    .option('-m, --memory <bytes>', 'Memory limit (e.g. 512m, 1g)')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('--network <network>', 'Connect a container to a network')
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect)
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect)
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--link <list>', 'Add link to another container', collect)
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .action(async (image: string, command: string[], options: RunOptions) => {
      await runContainer(ctx, image, command, options);
    });
}

/** The failure text docker prints for `run`: `tsdocker: <msg>`, optionally with a help pointer. */
function runFailure(ctx: CommandContext, err: unknown, exitCode: number, withHelp: boolean): CliError {
  const message = (err as Error).message;
  const help = withHelp ? `\n\nRun '${ctx.programName} run --help' for more information` : '';
  return new CliError(`${ctx.programName}: ${message}${help}`, exitCode, { cause: err });
}

async function createContainer(
  ctx: CommandContext,
  image: string,
  request: CreateRequest,
): Promise<{ Id: string; Warnings?: string[] | null }> {
  const client = ctx.client();
  const create = () =>
    client.json<{ Id: string; Warnings?: string[] | null }>('POST', '/containers/create', {
      query: request.query,
      json: request.body,
    });
  try {
    return await create();
  } catch (err) {
    // A 404 from create means the image is missing: pull it, then create again.
    if (!(err instanceof DaemonError) || !err.isNotFound) throw err;
    ctx.io.stderr.write(`Unable to find image '${familiarStringWithDefaultTag(image)}' locally\n`);
    await pullImage(client, image, ctx.io.stderr);
    return create();
  }
}

export async function runContainer(
  ctx: CommandContext,
  image: string,
  command: string[],
  options: RunOptions,
): Promise<void> {
  const { io } = ctx;
  const attach = !options.detach;
  const stdinAttached = attach && options.interactive === true;
  if (stdinAttached && options.tty && !isTerminal(io.stdin))
    throw new CliError('the input device is not a TTY');

  let request: CreateRequest;
  let detachKeys: Buffer = DEFAULT_DETACH_KEYS;
  try {
    request = buildCreateRequest(image, command, options, {
      env: io.env,
      consoleSize: terminalSize(io.stdout),
    });
    if (options.detachKeys !== undefined) detachKeys = parseDetachKeys(options.detachKeys);
  } catch (err) {
    if (err instanceof FlagValueError) throw new UsageError(err.message, 'run');
    throw runFailure(ctx, err, 125, true);
  }

  const client = ctx.client();
  let created: { Id: string; Warnings?: string[] | null };
  try {
    created = await createContainer(ctx, image, request);
  } catch (err) {
    throw runFailure(ctx, err, startFailureExitCode((err as Error).message), true);
  }
  for (const warning of created.Warnings ?? []) io.stderr.write(`WARNING: ${warning}\n`);
  const id = created.Id;

  const stopSignalProxy = proxySignals((signal) => killContainer(client, id, signal));
  let wait: PendingWait | undefined;
  try {
    if (!attach) io.stdout.write(`${id}\n`);
    const socket = attach ? await attachContainer(client, id, { stdin: stdinAttached }) : undefined;
    // Streaming starts right after the attach: with -i, stdin may reach the daemon before start.
    const streams = socket
      ? pumpHijackedStreams({
          socket,
          tty: options.tty === true,
          stdin: stdinAttached ? io.stdin : null,
          stdout: io.stdout,
          stderr: options.tty ? io.stdout : io.stderr,
          detachKeys,
        })
      : undefined;
    // Awaited below; this only keeps an early failure from counting as unhandled meanwhile.
    streams?.catch(() => {});
    wait = await waitForContainer(client, id, options.rm ? 'removed' : 'next-exit').catch(failedWait);

    try {
      await startContainer(client, id);
    } catch (err) {
      socket?.destroy();
      await streams?.catch(() => {});
      // With --rm the daemon removes the container even after a failed start; wait for that.
      if (options.rm) await wait.result.catch(() => {});
      throw runFailure(ctx, err, startFailureExitCode((err as Error).message), false);
    }
    if (!streams) return;

    const outcome = await withTtySizeSync(streams, {
      tty: options.tty === true,
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
