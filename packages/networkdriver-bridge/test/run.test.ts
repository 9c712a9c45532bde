import { describe, expect, it } from 'vitest';
import { CommandError, startCommand, startIp } from '../src/run.js';

describe('a command started before its input', () => {
  it('waits for its input and answers with its stdout', async () => {
    const cat = startCommand('cat', []);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(cat.send('late input\n')).resolves.toBe('late input\n');
  });

  it('ends with no input when cancelled', async () => {
    const cat = startCommand('cat', []);
    await expect(cat.cancel()).resolves.toBeUndefined();
  });

  it('reports a command that cannot start as a CommandError, when its input is sent', async () => {
    const missing = startCommand('/nonexistent/tsd-no-such-command', []);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(missing.send('x\n')).rejects.toBeInstanceOf(CommandError);
    await expect(missing.cancel()).resolves.toBeUndefined();
  });

  it('reports a sandbox that is gone by nsenter’s own message, not a broken pipe', async () => {
    const inSandbox = startIp('/nonexistent/tsd-no-such-netns');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const err = await inSandbox.run(['link set lo up']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).stderr).toMatch(/nonexistent/);
  });
});
