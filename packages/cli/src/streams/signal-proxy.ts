/**
 * Signal proxying for `run` and `start -a`: every signal the CLI receives is forwarded to the
 * container as `kill?signal=<NAME>` (without `SIG`), as docker does, instead of killing the CLI.
 * SIGCHLD, SIGPIPE and SIGURG are not forwarded (docker skips them too); SIGKILL and SIGSTOP cannot
 * be caught, and the fault signals (SEGV, BUS, FPE, ILL) are left to Node.
 */

export const PROXIED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGTERM',
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGCONT',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGWINCH',
  'SIGVTALRM',
  'SIGPROF',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGIO',
  'SIGPWR',
];

/** Starts forwarding; returns a function that stops it and restores default handling. */
export function proxySignals(forward: (name: string) => Promise<void>): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const signal of PROXIED_SIGNALS) {
    const handler = () => {
      forward(signal.slice(3)).catch(() => {
        // Docker only logs failed forwards at debug level; the container may already be gone.
      });
    };
    try {
      process.on(signal, handler);
      handlers.set(signal, handler);
    } catch {
      // A signal this platform does not have.
    }
  }
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    handlers.clear();
  };
}
