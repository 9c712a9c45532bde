/** `tsdocker wait`: `POST /containers/{name}/wait` (not-running) per container, in order; prints exit codes. */
import type { Command } from 'commander';
import { CliError } from '../cli-errors.js';
import { waitForContainer } from '../container/lifecycle.js';
import type { CommandContext } from '../context.js';

export function registerWaitCommand(program: Command, ctx: CommandContext): void {
  program
    .command('wait')
    .summary('Block until one or more containers stop, then print their exit codes')
    .description('Block until one or more containers stop, then print their exit codes')
    .usage('CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .action(async (containers: string[]) => {
      const client = ctx.client();
      const errors: string[] = [];
      for (const name of containers) {
        try {
          const pending = await waitForContainer(client, name);
          const result = await pending.result;
          ctx.io.stdout.write(`${result.statusCode}\n`);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (errors.length > 0) throw new CliError(errors.join('\n'));
    });
}
