/**
 * Keeps V8's young generation at its initial size in the daemon. V8 doubles the young
 * generation (up to 2 × 16 MiB) whenever a burst of allocation survives, and a long-lived
 * process keeps those pages resident while idle: after start-up and one image import that is
 * about a fifth of the daemon's RSS. A daemon's allocations are short requests, so small, more
 * frequent scavenges cost it little. V8 reads the flag at each resize, so setting it at run time
 * works as long as it happens before start-up allocates (as a node command-line option it would
 * not reach a daemon started as `tsdocker daemon`).
 */
import { setFlagsFromString } from 'node:v8';

export function keepYoungGenerationSmall(argv: readonly string[]): void {
  if (argv.slice(2).includes('daemon')) setFlagsFromString('--semi-space-growth-factor=1');
}
