/** The daemon's young-generation cap, in a node process of its own (V8 flags are process-wide). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const INDEX = join(import.meta.dirname, '..', 'dist', 'index.js');

// Starts a worker thread (as a layer extraction does), then allocates a lot of short-lived
// objects, some surviving a scavenge: what makes V8 grow the young generation.
const SCRIPT = `
import { once } from 'node:events';
import { getHeapSpaceStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
const { keepYoungGenerationSmall } = await import(process.env.CLI_INDEX);
if (process.env.CAP === '1') keepYoungGenerationSmall(['node', 'tsdocker', 'daemon']);
await once(new Worker('', { eval: true }), 'exit');
const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const before = size();
let keep = [];
for (let i = 0; i < 300000; i++) {
  keep.push({ i, s: 'x'.repeat(16) + i });
  if (keep.length > 5000) keep = [];
}
console.log(JSON.stringify({ before, after: size() }));
`;

/** The young generation's size before and after the churn (importing the CLI may grow it first). */
async function youngGenerationAroundChurn(cap: boolean): Promise<{ before: number; after: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    env: { ...process.env, CLI_INDEX: INDEX, CAP: cap ? '1' : '0' },
  });
  return JSON.parse(stdout);
}

it("keeps the daemon's young generation at its initial size, also after a worker thread ran", async () => {
  const [capped, uncapped] = await Promise.all([
    youngGenerationAroundChurn(true),
    youngGenerationAroundChurn(false),
  ]);
  expect(uncapped.after).toBeGreaterThan(uncapped.before); // the scenario does make V8 grow it
  expect(capped.after).toBeLessThanOrEqual(capped.before);
});
