/** Running `ip`, `iptables` and friends; their stderr becomes the error message. */
import { execFile } from 'node:child_process';
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
  try {
    if (input === undefined) {
      const { stdout } = await execFileAsync(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    }
    return await new Promise<string>((resolve, reject) => {
      const child = execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(Object.assign(err, { stderr }));
        else resolve(stdout);
      });
      child.stdin?.end(input);
    });
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new CommandError(`${cmd} ${args.join(' ')}`, (e.stderr || e.message || String(err)).trim());
  }
}

/** Runs `ip` commands in the host's namespace, or in a sandbox (a netns file) with nsenter. */
export function ip(lines: string[], sandboxKey?: string): Promise<string> {
  const input = `${lines.join('\n')}\n`;
  return sandboxKey
    ? run('nsenter', [`--net=${sandboxKey}`, 'ip', '-batch', '-'], input)
    : run('ip', ['-batch', '-'], input);
}

/** True when an error only says the object is already gone. */
export function isGone(err: unknown): boolean {
  const text = err instanceof CommandError ? err.stderr : String(err);
  return /Cannot find device|does not exist|No such file|No chain\/target\/match|Bad rule|not found/i.test(
    text,
  );
}
