import { describe, expect, it } from 'vitest';
import { initialState, markExited, markRunning } from '../../src/container/container.js';
import { humanDuration, statusText } from '../../src/container/status-text.js';

describe('humanDuration (docker/go-units)', () => {
  it.each([
    [500, 'Less than a second'],
    [1000, '1 second'],
    [59_000, '59 seconds'],
    [60_000, 'About a minute'],
    [59 * 60_000, '59 minutes'],
    [60 * 60_000, 'About an hour'],
    [47 * 3_600_000, '47 hours'],
    [48 * 3_600_000, '2 days'],
    [14 * 24 * 3_600_000, '2 weeks'],
    [60 * 24 * 3_600_000, '2 months'],
    [2 * 365 * 24 * 3_600_000, '2 years'],
  ])('%d ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('statusText', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  it('created, running, paused, exited', () => {
    const s = initialState();
    expect(statusText(s, now)).toBe('Created');
    markRunning(s, 42, new Date('2026-01-01T00:00:55Z'));
    expect(statusText(s, now)).toBe('Up 5 seconds');
    s.Paused = true;
    s.Status = 'paused';
    expect(statusText(s, now)).toBe('Up 5 seconds (Paused)');
    markExited(s, { exitCode: 137, oomKilled: false, at: new Date('2026-01-01T00:00:00Z') });
    expect(statusText(s, now)).toBe('Exited (137) About a minute ago');
  });
});
