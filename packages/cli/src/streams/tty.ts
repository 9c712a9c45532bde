/**
 * Terminal handling for `-t`: raw mode on our stdin while attached (keystrokes go to the
 * container's pty byte by byte), and keeping the container's pty size in step with ours.
 */
import type { Readable, Writable } from 'node:stream';

interface TtyReadable extends Readable {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

interface TtyWritable extends Writable {
  isTTY?: boolean;
  rows?: number;
  columns?: number;
}

export function isTerminal(stream: Readable | Writable): boolean {
  return (stream as TtyReadable | TtyWritable).isTTY === true;
}

/** `[rows, cols]` of a terminal stream, or undefined when it is not a terminal. */
export function terminalSize(stream: Writable): [number, number] | undefined {
  const tty = stream as TtyWritable;
  if (!tty.isTTY || !tty.rows || !tty.columns) return undefined;
  return [tty.rows, tty.columns];
}

/**
 * Puts a terminal stdin in raw mode and gives back an idempotent restore. The restore also runs
 * on process exit so an early exit never leaves the user's terminal raw.
 */
export function enterRawMode(stdin: Readable): () => void {
  const tty = stdin as TtyReadable;
  if (!tty.isTTY || typeof tty.setRawMode !== 'function') return () => {};
  const wasRaw = tty.isRaw === true;
  tty.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    tty.setRawMode?.(wasRaw);
  };
  process.on('exit', restore);
  return restore;
}

export type ResizeFn = (rows: number, cols: number) => Promise<void>;

const RESIZE_RETRIES = 10;

/**
 * Sends the terminal size now and on every terminal resize (SIGWINCH). Like docker, a failed first
 * resize is retried up to 10 times, 10 ms more apart each time, before giving up with a notice.
 * Returns a function that stops watching.
 */
export function monitorTtySize(stdout: Writable, stderr: Writable, resize: ResizeFn): () => void {
  const sendCurrent = async (): Promise<void> => {
    const size = terminalSize(stdout);
    if (!size || (size[0] === 0 && size[1] === 0)) return;
    await resize(size[0], size[1]);
  };
  let stopped = false;
  void (async () => {
    for (let attempt = 0; attempt <= RESIZE_RETRIES && !stopped; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, attempt * 10).unref());
      try {
        await sendCurrent();
        return;
      } catch {
        // retried below
      }
    }
    if (!stopped) stderr.write('failed to resize tty, using default size\n');
  })();
  const onResize = () => {
    sendCurrent().catch(() => {});
  };
  stdout.on('resize', onResize);
  return () => {
    stopped = true;
    stdout.off('resize', onResize);
  };
}

/**
 * Waits for an attached session's streams, keeping the container's (or exec's) TTY the size of
 * ours meanwhile when both ends are terminals.
 */
export async function withTtySizeSync<T>(
  streams: Promise<T>,
  opts: { tty: boolean; stdout: Writable; stderr: Writable; resize: ResizeFn },
): Promise<T> {
  const stop =
    opts.tty && isTerminal(opts.stdout) ? monitorTtySize(opts.stdout, opts.stderr, opts.resize) : undefined;
  try {
    return await streams;
  } finally {
    stop?.();
  }
}
