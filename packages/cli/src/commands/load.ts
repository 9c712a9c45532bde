/**
 * `tsdocker load`: `POST /images/load` with the archive (a file or stdin) as a chunked
 * `application/x-tar` body, then the daemon's JSON stream shown as docker shows it. Like the docker
 * CLI, progress is asked for only when stdout is a terminal (`quiet=1` otherwise or with `-q`).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { CliError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import { displayJsonMessages } from '../streams/json-messages.js';
import { isTerminal } from '../streams/tty.js';

interface LoadOptions {
  input?: string;
  quiet?: boolean;
}

async function openInput(ctx: CommandContext, input: string | undefined): Promise<Readable> {
  if (input === undefined) {
    if (isTerminal(ctx.io.stdin)) throw new CliError('requested load from stdin, but stdin is empty');
    return ctx.io.stdin;
  }
  try {
    if ((await stat(input)).isDirectory()) throw new CliError(`read ${input}: is a directory`);
  } catch (err) {
    if (err instanceof CliError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliError(`open ${input}: no such file or directory`);
    throw new CliError(`open ${input}: ${(err as Error).message}`);
  }
  return createReadStream(input);
}

export function registerLoadCommand(program: Command, ctx: CommandContext): void {
  program
    .command('load')
    .summary('Load an image from a tar archive or STDIN')
    .description('Load an image from a tar archive or STDIN')
    .usage('[OPTIONS]')
    .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'Suppress the load output')
    .action(async (options: LoadOptions) => {
      const body = await openInput(ctx, options.input);
      const terminal = isTerminal(ctx.io.stdout);
      const quiet = options.quiet === true || !terminal;
      const res = await ctx.client().send('POST', '/images/load', {
        query: { quiet: quiet ? '1' : '0' },
        body,
        contentType: 'application/x-tar',
      });
      // The docker CLI decodes the answer only when it is exactly JSON; anything else is copied.
      if (res.headers['content-type'] === 'application/json') {
        await displayJsonMessages(res, ctx.io.stdout, { isTerminal: terminal });
      } else {
        for await (const chunk of res) ctx.io.stdout.write(chunk as Buffer);
      }
    });
}
