/**
 * Runs one CLI invocation and turns its outcome into an exit code, printing failures the way the
 * docker CLI does: daemon errors as `Error response from daemon: …`, flag errors with exit 125
 * and a pointer to `--help`, a container's exit status silently.
 */
import { CommanderError } from 'commander';
import { CliError, ExitStatus, UsageError } from './cli-errors.js';
import { type CliIO, processIO } from './context.js';
import { createProgram } from './program.js';

export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const { command, currentCommand } = createProgram(io);
  const programName = command.name();
  const args = argv.slice(2);
  if (args.length === 0) {
    command.outputHelp();
    return 0;
  }
  try {
    await command.parseAsync(args, { from: 'user' });
    return 0;
  } catch (err) {
    return reportFailure(err, io, programName, currentCommand());
  }
}

export function reportFailure(err: unknown, io: CliIO, programName: string, commandName?: string): number {
  const write = (text: string) => {
    if (text !== '') io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  };
  if (err instanceof ExitStatus) return err.exitCode;
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return 0; // --help, --version
    if (err.code === 'commander.unknownCommand') {
      const name = /'([^']*)'/.exec(err.message)?.[1] ?? '';
      write(`${programName}: '${name}' is not a ${programName} command.\nSee '${programName} --help'`);
      return 1;
    }
    if (err.code === 'commander.help') return err.exitCode;
    const target = commandName ? `${programName} ${commandName}` : programName;
    write(
      `${programName}: ${err.message.replace(/^error: /, '')}\n\nRun '${target} --help' for more information`,
    );
    return 125;
  }
  if (err instanceof UsageError) {
    write(
      `${programName}: ${err.message}\n\nRun '${programName} ${err.command} --help' for more information`,
    );
    return err.exitCode;
  }
  if (err instanceof CliError) {
    write(err.message);
    return err.exitCode;
  }
  write(err instanceof Error ? err.message : String(err));
  return 1;
}
