/**
 * Keeps V8's young generation at its initial size in the daemon. V8 doubles the young
 * generation (up to 2 x 16 MiB) whenever a burst of allocation survives, and a long-lived
 * process keeps those pages resident while idle: after start-up and one image import that is
 * about a fifth of the daemon's RSS, and with 20 containers started ~15 MiB. A daemon's
 * allocations are short requests, so small, more frequent scavenges cost it little. V8 reads
 * the flag at each resize, so setting it at run time works as long as it happens before
 * start-up allocates (as a node command-line option it would not reach a daemon started as
 * `tsdocker daemon`).
 *
 * The flag is process-wide, and starting a worker thread (layer extraction starts one per
 * layer) puts it back to V8's default while the worker's heap is set up: without setting it
 * again, the first image load let the young generation grow for good.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--semi-space-growth-factor=1';

export function keepYoungGenerationSmall(argv: readonly string[]): void {
  if (!argv.slice(2).includes('daemon')) return;
  setFlagsFromString(FLAG);
  const reset = () => setFlagsFromString(FLAG);
  // By 'online' the worker's heap exists (and has reset the flag); 'exit' covers a worker that
  // failed before it ran.
  process.on('worker', (worker) => worker.once('online', reset).once('exit', reset));
}
