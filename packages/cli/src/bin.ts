#!/usr/bin/env node
/** The `tsdocker` executable. */
import { runCli } from './cli.js';
import { keepYoungGenerationSmall } from './daemon/young-generation.js';
import { flushWritable } from './streams/write.js';

// First, before the daemon's start-up allocates.
keepYoungGenerationSmall(process.argv);

// Like a Go program, die quietly on a closed pipe (`tsdocker ps | head -1`): exit 128+SIGPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  });
}

const code = await runCli(process.argv);
await Promise.all([flushWritable(process.stdout), flushWritable(process.stderr)]);
// Exit explicitly: an abandoned `wait` (run -d) or a paused stdin must not keep the process alive.
process.exit(code);
