/**
 * Copies between our stdio and a hijacked attach/exec connection, like docker's
 * `hijackedIOStreamer`: container output to stdout/stderr (demultiplexed unless TTY), our stdin to
 * the connection. Without stdin we half-close at once; with stdin we half-close at its EOF. The
 * session is over when the daemon closes the output, or when the user types the detach keys.
 */
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { demultiplex } from '../client/stdcopy.js';
import { DEFAULT_DETACH_KEYS, DetachKeyDetector } from './detach-keys.js';
import { enterRawMode } from './tty.js';
import { writeAll } from './write.js';

export interface HijackedStreamsOptions {
  socket: Socket;
  /** Raw stream (TTY) or docker's multiplexed framing. */
  tty: boolean;
  /** Our stdin when attaching it (`-i`), else null. */
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
  detachKeys?: Buffer;
}

export type StreamsOutcome = 'output-ended' | 'detached';

export async function pumpHijackedStreams(options: HijackedStreamsOptions): Promise<StreamsOutcome> {
  const { socket, tty, stdin } = options;
  // Terminal raw mode only makes sense when our stdin goes to a pty.
  const restoreTerminal = stdin && tty ? enterRawMode(stdin) : () => {};
  let stopInput = () => {};
  let onDetach: (() => void) | undefined;
  const detached = new Promise<'detached'>((resolve) => {
    onDetach = () => resolve('detached');
  });

  // Writes after the daemon closed the connection fail with EPIPE; the output side reports how
  // the session really ended, so those are not errors of their own.
  socket.on('error', () => {});

  if (stdin) {
    const detector = tty ? new DetachKeyDetector(options.detachKeys ?? DEFAULT_DETACH_KEYS) : undefined;
    const onData = (chunk: Buffer | string) => {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const fed = detector ? detector.feed(data) : { data, detach: false };
      if (fed.data.length > 0 && socket.writable && !socket.write(fed.data)) {
        // Don't read stdin faster than the daemon takes it (`cat big | tsdocker run -i …`).
        stdin.pause();
        socket.once('drain', () => {
          if (!inputStopped) stdin.resume();
        });
      }
      if (fed.detach) {
        stopInput();
        onDetach?.();
      }
    };
    const onEnd = () => {
      stopInput();
      if (socket.writable) socket.end();
    };
    let inputStopped = false;
    stopInput = () => {
      inputStopped = true;
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      restoreTerminal();
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  } else {
    socket.end();
  }

  const output = (async (): Promise<'output-ended'> => {
    try {
      if (tty) {
        for await (const chunk of socket) await writeAll(options.stdout, chunk as Buffer);
      } else {
        await demultiplex(socket, options.stdout, options.stderr);
      }
    } finally {
      restoreTerminal();
    }
    return 'output-ended';
  })();

  // After a detach the output side ends with a premature-close error nobody waits for.
  output.catch(() => {});
  try {
    return await Promise.race([output, detached]);
  } finally {
    stopInput();
    socket.destroy();
  }
}
