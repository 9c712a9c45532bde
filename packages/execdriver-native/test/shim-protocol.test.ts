import { describe, expect, it } from 'vitest';
import {
  formatResize,
  formatSignal,
  LineSplitter,
  parseExitLine,
  parseShimEvent,
} from '../src/shim-protocol.js';
import { startError } from '../src/start-errors.js';

describe('shim events', () => {
  it('parses started, error and command replies', () => {
    expect(parseShimEvent('started 4242')).toEqual({ type: 'started', pid: 4242 });
    expect(parseShimEvent('error exec: "x": executable file not found in $PATH')).toEqual({
      type: 'error',
      message: 'exec: "x": executable file not found in $PATH',
    });
    expect(parseShimEvent('ok resize')).toEqual({ type: 'ok', command: 'resize' });
    expect(parseShimEvent('fail signal operation not permitted')).toEqual({
      type: 'fail',
      command: 'signal',
      message: 'operation not permitted',
    });
  });

  it('parses exit lines with and without a signal and a timestamp', () => {
    expect(parseShimEvent('exit 7 - 0 1700000000000')).toEqual({
      type: 'exit',
      status: { exitCode: 7, oomKilled: false, finishedAt: new Date(1700000000000) },
    });
    const killed = parseExitLine('exit 137 SIGKILL 1');
    expect(killed?.status).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: true });
    expect(killed?.status.finishedAt).toBeInstanceOf(Date);
    expect(parseExitLine('exit 0 - 0 1700000000000\n')?.status.exitCode).toBe(0); // the exit file's form
  });

  it('rejects malformed lines', () => {
    for (const line of [
      '',
      'started',
      'started x',
      'started -3',
      'exit',
      'exit x - 0',
      'exit 1 - 2',
      'exit 1 - 0 soon',
      'hello 1',
      'ok',
    ])
      expect(parseShimEvent(line), line).toBeUndefined();
  });

  it('formats commands as single lines', () => {
    expect(formatResize(40, 120)).toBe('resize 40 120\n');
    expect(formatSignal(15)).toBe('signal 15\n');
  });

  it('splits lines across arbitrary chunk boundaries, including inside UTF-8 characters', () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('started 1\nerror caf\u00e9 au lait\nok sig');
    expect(splitter.push(bytes.subarray(0, 4))).toEqual([]);
    expect(splitter.push(bytes.subarray(4, 25))).toEqual(['started 1']);
    expect(splitter.push(bytes.subarray(25))).toEqual(['error caf\u00e9 au lait']);
    expect(splitter.push(Buffer.from('nal\n'))).toEqual(['ok signal']);
  });
});

describe('start errors', () => {
  it('keeps the message, and makes a bad command the caller’s error', () => {
    const notFound = startError('exec: "nosuch": executable file not found in $PATH');
    expect(notFound.kind).toBe('invalid-argument');
    expect(notFound.message).toBe('exec: "nosuch": executable file not found in $PATH');
    expect(startError('exec: "/etc": is a directory').kind).toBe('invalid-argument');
    expect(startError('exec /bin/x: exec format error').kind).toBe('invalid-argument');
  });

  it('maps a gone container to a conflict and anything else to internal', () => {
    expect(startError('container is not running (process 12 is gone)').kind).toBe('conflict');
    expect(startError('mount proc (proc) to /proc: operation not permitted').kind).toBe('internal');
  });
});
