/** `tsdocker rm`: `DELETE /containers/{name}` in parallel; with `-f` a missing container is not an error. */
import type { Command } from 'commander';
import { DaemonError } from '../client/errors.js';
import type { CommandContext } from '../context.js';
import { forEachContainer } from './parallel.js';

interface RmOptions {
  force?: boolean;
  volumes?: boolean;
  link?: boolean;
}

export function registerRmCommand(program: Command, ctx: CommandContext): void {
  program
    .command('rm')
    .summary('Remove one or more containers')
    .description('Remove one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .option('-l, --link', 'Remove the specified link')
    .action(async (containers: string[], options: RmOptions) => {
      const client = ctx.client();
      await forEachContainer(
        ctx,
        containers,
        (name) =>
          client.call('DELETE', `/containers/${name}`, {
            query: {
              force: options.force === true,
              link: options.link === true,
              v: options.volumes === true,
            },
          }),
        (err) => options.force === true && err instanceof DaemonError && err.isNotFound,
      );
    });
}
