/**
 * How a command ends when it does not succeed. The top level prints `message` (if any) on stderr
 * and exits with `exitCode`, so commands never call process.exit themselves.
 */

/** A failure to report: printed as is, then exit with `exitCode` (1 unless the flow says otherwise). */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/**
 * A bad flag value or argument found before anything was sent: exit 125 like docker's flag errors,
 * with a pointer to the command's help.
 */
export class UsageError extends CliError {
  readonly command: string;

  constructor(message: string, command: string) {
    super(message, 125);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** A silent exit with a code: the container's or exec's exit status. */
export class ExitStatus extends Error {
  readonly exitCode: number;

  constructor(exitCode: number) {
    super(`exit status ${exitCode}`);
    this.name = 'ExitStatus';
    this.exitCode = exitCode;
  }
}
