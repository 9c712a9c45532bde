/** `tsdocker kill`: `POST /containers/{name}/kill` (SIGKILL unless `-s`), in parallel. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { forEachContainer } from './parallel.js';

export function registerKillCommand(program: Command, ctx: CommandContext): void {
  program
    .command('kill')
    .summary('Kill one or more running containers')
    .description('Kill one or more running containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .action(async (containers: string[], options: { signal?: string }) => {
      const client = ctx.client();
      await forEachContainer(ctx, containers, (name) =>
        client.call('POST', `/containers/${name}/kill`, { query: { signal: options.signal } }),
      );
    });
}
