import { describe, expect, it } from 'vitest';
import { parseSignal, signalName } from '../../src/container/signals.js';
import { TsdockerError } from '../../src/errors.js';

describe('parseSignal', () => {
  it.each([
    ['KILL', 9],
    ['SIGKILL', 9],
    ['9', 9],
    ['int', 2],
    ['WINCH', 28],
    ['SIGRTMIN+3', 37],
    ['RTMAX', 64],
  ])('%s → %d', (input, n) => {
    expect(parseSignal(input)).toBe(n);
  });

  it.each(['NOPE', '0', '65', '-1', ''])("rejects %j with Docker's message", (input) => {
    try {
      parseSignal(input);
      throw new Error('accepted');
    } catch (err) {
      expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
      expect((err as Error).message).toBe(`Invalid signal: ${input}`);
    }
  });

  it('names numbers', () => {
    expect(signalName(15)).toBe('SIGTERM');
  });
});
