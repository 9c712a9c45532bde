/**
 * `tsdocker logs`: inspect (for the ID and whether the container has a TTY) → `GET
 * /containers/{id}/logs`. TTY logs are raw bytes; others are demultiplexed to stdout/stderr.
 * `--since`/`--until` are converted client-side like docker does.
 */
import type { Command } from 'commander';
import { UsageError } from '../cli-errors.js';
import { demultiplex } from '../client/stdcopy.js';
import type { CommandContext } from '../context.js';
import { TimestampParseError, toApiTimestamp } from '../options/timestamp.js';
import { writeAll } from '../streams/write.js';

interface LogsOptions {
  follow?: boolean;
  timestamps?: boolean;
  tail: string;
  since?: string;
  until?: string;
  details?: boolean;
}

function timestampFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return toApiTimestamp(value);
  } catch (err) {
    if (err instanceof TimestampParseError)
      throw new UsageError(`invalid value for "${flag}": ${err.message}`, 'logs');
    throw err;
  }
}

export function registerLogsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('logs')
    .summary('Fetch the logs of a container')
    .description('Fetch the logs of a container')
    .usage('[OPTIONS] CONTAINER')
    .argument('<container>')
    .option('-f, --follow', 'Follow log output')
    .option('-t, --timestamps', 'Show timestamps')
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
    .option(
      '--since <string>',
      'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    )
    .option(
      '--until <string>',
      'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    )
    .option('--details', 'Show extra details provided to logs')
    .action(async (container: string, options: LogsOptions) => {
      const since = timestampFlag('--since', options.since);
      const until = timestampFlag('--until', options.until);
      const client = ctx.client();
      const info = await client.json<{ Id: string; Config?: { Tty?: boolean } }>(
        'GET',
        `/containers/${container}/json`,
      );
      const res = await client.send('GET', `/containers/${info.Id}/logs`, {
        query: {
          details: options.details === true,
          follow: options.follow === true,
          since,
          stderr: true,
          stdout: true,
          tail: options.tail,
          timestamps: options.timestamps === true,
          until,
        },
      });
      if (info.Config?.Tty) {
        for await (const chunk of res) await writeAll(ctx.io.stdout, chunk as Buffer);
      } else {
        await demultiplex(res, ctx.io.stdout, ctx.io.stderr);
      }
    });
}
