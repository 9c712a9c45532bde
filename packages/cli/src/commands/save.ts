/**
 * `tsdocker save`: `GET /images/get?names=…` (names as typed), the archive written to `-o FILE`
 * (through a temp file renamed into place, as the docker CLI does, so a failed save leaves no
 * truncated archive) or to stdout, which must not be a terminal.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { CliError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import { isTerminal } from '../streams/tty.js';

interface SaveOptions {
  output?: string;
}

export function registerSaveCommand(program: Command, ctx: CommandContext): void {
  program
    .command('save')
    .summary('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<images...>')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(async (images: string[], options: SaveOptions) => {
      if (options.output === undefined && isTerminal(ctx.io.stdout)) {
        throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      }
      const res = await ctx.client().send('GET', '/images/get', { query: { names: images } });
      if (options.output === undefined) {
        await pipeline(res, ctx.io.stdout, { end: false });
        return;
      }
      const target = options.output;
      const temp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
      try {
        await pipeline(res, createWriteStream(temp, { mode: 0o644 }));
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw new CliError(`failed to save image: ${(err as Error).message}`);
      }
    });
}
