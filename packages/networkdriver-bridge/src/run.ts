/** Running `ip`, `iptables` and friends; their stderr becomes the error message. */
import { type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super(`${command}: ${stderr}`);
    this.name = 'CommandError';
  }
}

export async function run(cmd: string, args: string[], input?: string): Promise<string> {
  if (input !== undefined) return startCommand(cmd, args).send(input);
  try {
    const { stdout } = await execFileAsync(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    throw commandError(cmd, args, err);
  }
}

function commandError(cmd: string, args: string[], err: unknown): CommandError {
  const e = err as { stderr?: string; message?: string };
  return new CommandError(`${cmd} ${args.join(' ')}`, (e.stderr || e.message || String(err)).trim());
}

/** A command already running that waits for its input on stdin (`ip -batch -`). */
export interface PendingCommand {
  /** Hands the command its whole input and waits for it to finish; its stdout. */
  send(input: string): Promise<string>;
  /** Ends its input with nothing sent (an empty batch does nothing) and waits for it to exit. */
  cancel(): Promise<void>;
}

/**
 * Starts a command whose input is not known yet. The fork and exec (of `nsenter` and then `ip`:
 * milliseconds each on a busy host) happen while the caller is still preparing that input;
 * `ip -batch -` reads stdin, so until the input comes it only waits.
 */
export function startCommand(cmd: string, args: string[]): PendingCommand {
  let child: ChildProcess | undefined;
  // Never throws: a spawn that fails at once rejects `finished` like one that fails later.
  const finished = new Promise<string>((resolve, reject) => {
    try {
      child = execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(commandError(cmd, args, Object.assign(err, { stderr })));
        else resolve(stdout);
      });
    } catch (err) {
      reject(commandError(cmd, args, err));
    }
  });
  const stdin = child?.stdin;
  // A command that died before its input came (a sandbox already gone) reports that through its
  // exit status and stderr; the write to its closed pipe failing adds nothing.
  stdin?.on('error', () => {});
  // Rejections reach whoever awaits `send`; a cancelled command's outcome is of no interest.
  finished.catch(() => {});
  return {
    send(input) {
      stdin?.end(input);
      return finished;
    },
    cancel() {
      stdin?.end();
      return finished.then(
        () => {},
        () => {},
      );
    },
  };
}

/** Runs `ip` commands in the host's namespace, or in a sandbox (a netns file) with nsenter. */
export function ip(lines: string[], sandboxKey?: string): Promise<string> {
  return startIp(sandboxKey).run(lines);
}

/** `ip -batch` started before its commands are known (see `startCommand`). */
export interface PendingIp {
  run(lines: string[]): Promise<string>;
  cancel(): Promise<void>;
}

/** `ip -batch -` in the host's namespace, or in a sandbox (a netns file) with nsenter. */
export function startIp(sandboxKey?: string): PendingIp {
  const pending = sandboxKey
    ? startCommand('nsenter', [`--net=${sandboxKey}`, 'ip', '-batch', '-'])
    : startCommand('ip', ['-batch', '-']);
  return { run: (lines) => pending.send(`${lines.join('\n')}\n`), cancel: () => pending.cancel() };
}

/** True when an error only says the object is already gone. */
export function isGone(err: unknown): boolean {
  const text = err instanceof CommandError ? err.stderr : String(err);
  return /Cannot find device|does not exist|No such file|No chain\/target\/match|Bad rule|not found/i.test(
    text,
  );
}
