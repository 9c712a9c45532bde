/**
 * `tsdocker import`: `POST /images/create?fromSrc=-` with the tarball as a chunked body (from a
 * file or stdin), or `fromSrc=<url>` for the daemon to download. `repo` carries the tag, as typed.
 * The daemon's JSON stream ends with the new image ID, printed on stdout.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { CliError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import { displayJsonMessages } from '../streams/json-messages.js';
import { isTerminal } from '../streams/tty.js';
import { UploadProgress } from '../streams/upload-progress.js';
import { collect } from './options.js';

interface ImportOptions {
  change?: string[];
  message?: string;
  platform?: string;
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

async function openSource(
  ctx: CommandContext,
  source: string,
): Promise<{ stream: Readable; size?: number; label: string }> {
  if (source === '-') return { stream: ctx.io.stdin, label: 'Importing from stdin' };
  try {
    const info = await stat(source);
    if (info.isDirectory()) throw new CliError(`read ${source}: is a directory`);
    return { stream: createReadStream(source), size: info.size, label: `Importing ${source}` };
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`open ${source}: no such file or directory`);
    throw new CliError(`open ${source}: ${(err as Error).message}`);
  }
}

export function registerImportCommand(program: Command, ctx: CommandContext): void {
  program
    .command('import')
    .summary('Import the contents from a tarball to create a filesystem image')
    .description('Import the contents from a tarball to create a filesystem image')
    .usage('[OPTIONS] file|URL|- [REPOSITORY[:TAG]]')
    .argument('<source>')
    .argument('[repository]')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(async (source: string, repository: string | undefined, options: ImportOptions) => {
      const client = ctx.client();
      const query = {
        changes: options.change,
        fromSrc: isUrl(source) ? source : '-',
        message: options.message,
        platform: options.platform,
        repo: repository,
      };
      let body: Readable | undefined;
      let progress: UploadProgress | undefined;
      if (!isUrl(source)) {
        const opened = await openSource(ctx, source);
        body = opened.stream;
        if (isTerminal(ctx.io.stderr)) {
          progress = new UploadProgress(ctx.io.stderr, opened.label, opened.size);
          body = opened.stream.pipe(progress);
        }
      }
      try {
        // Only an upload needs the chunked text/plain body; a URL import sends none.
        const res = await client.send('POST', '/images/create', { query, body, contentType: 'text/plain' });
        await displayJsonMessages(res, ctx.io.stdout, { isTerminal: false });
      } finally {
        progress?.clear();
      }
    });
}
