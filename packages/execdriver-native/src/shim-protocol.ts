/**
 * The shim's control protocol: one text line per message on its control channel (fd 3 today, a
 * unix socket once containers outlive the daemon). Pure functions, no I/O.
 *
 * Shim → daemon events:
 *   started <host-pid>                        the process was exec'd
 *   error <message>                           it could not be started (nothing is left running)
 *   ok <command> | fail <command> <message>   reply to each command, in order
 *   exit <code> <signal|-> <oom 0|1> <unix-ms> the process exited and its output is drained
 *
 * Daemon → shim commands:
 *   resize <rows> <cols>
 *   signal <number>
 */
import type { ExitStatus } from '@tsdocker/core';

export type ShimEvent =
  | { type: 'started'; pid: number }
  | { type: 'error'; message: string }
  | { type: 'ok'; command: string }
  | { type: 'fail'; command: string; message: string }
  | { type: 'exit'; status: ExitStatus };

const INT = /^-?\d+$/;

/** Parses one event line (without its newline); returns undefined for anything malformed. */
export function parseShimEvent(line: string): ShimEvent | undefined {
  const space = line.indexOf(' ');
  const type = space < 0 ? line : line.slice(0, space);
  const rest = space < 0 ? '' : line.slice(space + 1);
  switch (type) {
    case 'started': {
      if (!INT.test(rest) || Number(rest) <= 0) return undefined;
      return { type, pid: Number(rest) };
    }
    case 'error':
      return { type, message: rest };
    case 'ok':
      return rest ? { type, command: rest } : undefined;
    case 'fail': {
      const sp = rest.indexOf(' ');
      if (!rest) return undefined;
      return sp < 0
        ? { type, command: rest, message: '' }
        : { type, command: rest.slice(0, sp), message: rest.slice(sp + 1) };
    }
    case 'exit':
      return parseExitLine(line);
    default:
      return undefined;
  }
}

/** Parses `exit <code> <signal|-> <oom> [<unix-ms>]`, the exit line and the exit file's content. */
export function parseExitLine(line: string): { type: 'exit'; status: ExitStatus } | undefined {
  const parts = line.trim().split(' ');
  if (parts[0] !== 'exit' || parts.length < 4 || parts.length > 5) return undefined;
  const [, code, signal, oom, ms] = parts;
  if (!code || !INT.test(code) || (oom !== '0' && oom !== '1') || !signal) return undefined;
  if (ms !== undefined && !INT.test(ms)) return undefined;
  const status: ExitStatus = {
    exitCode: Number(code),
    oomKilled: oom === '1',
    finishedAt: ms !== undefined ? new Date(Number(ms)) : new Date(),
  };
  if (signal !== '-') status.signal = signal;
  return { type: 'exit', status };
}

export function formatResize(rows: number, cols: number): string {
  return `resize ${rows} ${cols}\n`;
}

export function formatSignal(signal: number): string {
  return `signal ${signal}\n`;
}

/** Splits a byte stream into lines, whatever the chunk boundaries. */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array): string[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    return lines;
  }
}
