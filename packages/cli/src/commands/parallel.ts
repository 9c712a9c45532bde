/**
 * docker's pattern for `stop`, `kill` and `rm` with several containers: run the operations in
 * parallel (at most 50 at once), then report in argument order — the name on stdout for each
 * success, the error on stderr for each failure — and fail if any failed.
 */
import { CliError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';

const MAX_PARALLEL = 50;

export async function forEachContainer(
  ctx: CommandContext,
  names: readonly string[],
  operation: (name: string) => Promise<void>,
  /** Returns true for an error to print without failing the command (`rm -f` on a missing container). */
  tolerate: (err: unknown) => boolean = () => false,
): Promise<void> {
  const results: Array<Promise<void>> = [];
  let running = 0;
  const queue: Array<() => void> = [];
  const acquire = () =>
    new Promise<void>((resolve) => {
      if (running < MAX_PARALLEL) {
        running++;
        resolve();
      } else {
        queue.push(() => {
          running++;
          resolve();
        });
      }
    });
  const release = () => {
    running--;
    queue.shift()?.();
  };
  for (const name of names) {
    results.push(
      acquire().then(async () => {
        try {
          await operation(name);
        } finally {
          release();
        }
      }),
    );
  }

  const errors: string[] = [];
  for (const [i, result] of results.entries()) {
    try {
      await result;
      ctx.io.stdout.write(`${names[i]}\n`);
    } catch (err) {
      if (tolerate(err)) ctx.io.stderr.write(`${(err as Error).message}\n`);
      else errors.push((err as Error).message);
    }
  }
  if (errors.length > 0) throw new CliError(errors.join('\n'));
}
