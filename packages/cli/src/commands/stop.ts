/** `tsdocker stop`: `POST /containers/{name}/stop` for each container, in parallel. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import { forEachContainer } from './parallel.js';

interface StopOptions {
  timeout?: string;
  time?: string;
  signal?: string;
}

export function registerStopCommand(program: Command, ctx: CommandContext): void {
  program
    .command('stop')
    .summary('Stop one or more running containers')
    .description('Stop one or more running containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .option('-t, --timeout <int>', 'Seconds to wait before killing the container')
    .addOption(
      new Option('--time <int>', 'Seconds to wait before killing the container (deprecated)').hideHelp(),
    )
    .action(async (containers: string[], options: StopOptions) => {
      const timeout = options.timeout ?? options.time;
      if (timeout !== undefined && !/^-?\d+$/.test(timeout)) {
        throw new UsageError(
          `invalid argument "${timeout}" for "-t, --timeout" flag: strconv.ParseInt: parsing "${timeout}": invalid syntax`,
          'stop',
        );
      }
      const client = ctx.client();
      await forEachContainer(ctx, containers, (name) =>
        client.call('POST', `/containers/${name}/stop`, { query: { signal: options.signal, t: timeout } }),
      );
    });
}
