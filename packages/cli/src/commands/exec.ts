/**
 * `tsdocker exec`: inspect (existence check) → `POST /containers/{id}/exec` → hijacked
 * `POST /exec/{id}/start` → stream → `GET /exec/{id}/json` for the exit code. `-d` starts it with
 * a plain POST and returns at once.
 */
import type { Command } from 'commander';
import { CliError, ExitStatus, UsageError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import { resolveEnvFlag } from '../options/env.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../streams/detach-keys.js';
import { pumpHijackedStreams } from '../streams/hijacked-streams.js';
import { isTerminal, terminalSize, withTtySizeSync } from '../streams/tty.js';
import { collect } from './options.js';

interface ExecOptions {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
  privileged?: boolean;
  detachKeys?: string;
}

/** The exec-create body in docker's field order. */
export function buildExecBody(
  command: readonly string[],
  options: ExecOptions,
  environment: { env: NodeJS.ProcessEnv; consoleSize?: [number, number] },
): Record<string, unknown> {
  const detach = options.detach === true;
  const tty = options.tty === true;
  const env = (options.env ?? []).map((e) => resolveEnvFlag(e, environment.env));
  return {
    User: options.user ?? '',
    Privileged: options.privileged === true,
    Tty: tty,
    ...(tty && environment.consoleSize ? { ConsoleSize: environment.consoleSize } : {}),
    AttachStdin: !detach && options.interactive === true,
    AttachStderr: !detach,
    AttachStdout: !detach,
    Detach: detach,
    DetachKeys: options.detachKeys ?? '',
    Env: env.length > 0 ? env : null,
    WorkingDir: options.workdir ?? '',
    Cmd: [...command],
  };
}

export function registerExecCommand(program: Command, ctx: CommandContext): void {
  program
    .command('exec')
    .summary('Execute a command in a running container')
    .description('Execute a command in a running container')
    .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('--privileged', 'Give extended privileges to the command')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .action(async (container: string, command: string[], options: ExecOptions) => {
      await execInContainer(ctx, container, command, options);
    });
}

async function execInContainer(
  ctx: CommandContext,
  container: string,
  command: string[],
  options: ExecOptions,
): Promise<void> {
  const { io } = ctx;
  const detach = options.detach === true;
  const tty = options.tty === true;
  const stdinAttached = !detach && options.interactive === true;
  if (stdinAttached && tty && !isTerminal(io.stdin)) throw new CliError('the input device is not a TTY');
  let detachKeys: Buffer = DEFAULT_DETACH_KEYS;
  let body: Record<string, unknown>;
  try {
    if (options.detachKeys !== undefined) detachKeys = parseDetachKeys(options.detachKeys);
    body = buildExecBody(command, options, { env: io.env, consoleSize: terminalSize(io.stdout) });
  } catch (err) {
    throw new UsageError((err as Error).message, 'exec');
  }

  const client = ctx.client();
  await client.json('GET', `/containers/${container}/json`);
  const { Id: execId } = await client.json<{ Id: string }>('POST', `/containers/${container}/exec`, {
    json: body,
  });

  const consoleSize = tty ? terminalSize(io.stdout) : undefined;
  const startBody = { Detach: detach, Tty: tty, ...(consoleSize ? { ConsoleSize: consoleSize } : {}) };
  if (detach) {
    await client.call('POST', `/exec/${execId}/start`, { json: startBody });
    return;
  }

  const socket = await client.hijack('POST', `/exec/${execId}/start`, { json: startBody });
  const streams = pumpHijackedStreams({
    socket,
    tty,
    stdin: stdinAttached ? io.stdin : null,
    stdout: io.stdout,
    stderr: tty ? io.stdout : io.stderr,
    detachKeys,
  });
  const outcome = await withTtySizeSync(streams, {
    tty,
    stdout: io.stdout,
    stderr: io.stderr,
    resize: (rows, cols) => client.call('POST', `/exec/${execId}/resize`, { query: { h: rows, w: cols } }),
  });
  if (outcome === 'detached') return;

  const inspect = await client.json<{ ExitCode?: number | null }>('GET', `/exec/${execId}/json`);
  const code = inspect?.ExitCode ?? 0;
  if (code !== 0) throw new ExitStatus(code < 0 ? 255 : code);
}
