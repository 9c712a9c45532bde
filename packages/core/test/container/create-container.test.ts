import { describe, expect, it } from 'vitest';
import { parseCreateBody } from '../../src/container/create-config.js';
import { commandOf, mergeWithImage, verifyHostConfig } from '../../src/container/create-container.js';
import { TsdockerError } from '../../src/errors.js';

const image = {
  Cmd: ['a', 'b'],
  Entrypoint: ['/bin/sh', '-c', 'echo $*', 'entry'],
  Env: ['PATH=/usr/bin:/bin', 'GREETING=hello'],
  WorkingDir: '/opt/app',
  User: '1000:1000',
  Labels: { a: '1' },
  StopSignal: 'SIGQUIT',
};

describe('mergeWithImage', () => {
  it('inherits the image config when the request sets nothing', () => {
    const c = mergeWithImage(parseCreateBody({ Image: 'x' }), image, 'x');
    expect(c.Cmd).toEqual(['a', 'b']);
    expect(c.Entrypoint).toEqual(image.Entrypoint);
    expect(c.WorkingDir).toBe('/opt/app');
    expect(c.User).toBe('1000:1000');
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(commandOf(c)).toEqual({ path: '/bin/sh', args: ['-c', 'echo $*', 'entry', 'a', 'b'] });
  });

  it('request Cmd replaces the image Cmd; Env merges by key', () => {
    const c = mergeWithImage(
      parseCreateBody({ Image: 'x', Cmd: ['z'], Env: ['GREETING=hi', 'NEW=1'], Labels: { b: '2' } }),
      image,
      'x',
    );
    expect(c.Cmd).toEqual(['z']);
    expect(c.Env).toEqual(['PATH=/usr/bin:/bin', 'GREETING=hi', 'NEW=1']);
    expect(c.Labels).toEqual({ a: '1', b: '2' });
  });

  it('an explicit entrypoint drops the image Cmd', () => {
    const c = mergeWithImage(parseCreateBody({ Image: 'x', Entrypoint: ['/bin/echo'] }), image, 'x');
    expect(c.Cmd).toBeNull();
    expect(commandOf(c)).toEqual({ path: '/bin/echo', args: [] });
  });

  it('no command at all is a 400', () => {
    const c = mergeWithImage(parseCreateBody({ Image: 'x' }), {}, 'x');
    expect(() => commandOf(c)).toThrow('No command specified');
  });
});

describe('parseCreateBody', () => {
  it('names the field with a wrong type', () => {
    try {
      parseCreateBody({ Image: 'x', HostConfig: { Memory: 'lots' } });
      throw new Error('accepted');
    } catch (err) {
      expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
      expect((err as Error).message).toContain('HostConfig.Memory');
    }
  });

  it('refuses integers JSON cannot carry exactly, naming the field', () => {
    expect(() => parseCreateBody({ Image: 'x', HostConfig: { Memory: 1e20 } })).toThrow(/HostConfig\.Memory/);
    expect(() => parseCreateBody({ Image: 'x', HostConfig: { Memory: 1.5 } })).toThrow(/HostConfig\.Memory/);
  });

  it('ignores unknown fields like Docker', () => {
    expect(parseCreateBody({ Image: 'x', Bogus: 1, HostConfig: { Whatever: true } }).Image).toBe('x');
  });
});

describe('verifyHostConfig', () => {
  it.each([
    [{ Memory: 1024 }, 'Minimum memory limit allowed is 6MB'],
    [
      { NanoCpus: 1e9, CpuPeriod: 100000 },
      'Conflicting options: Nano CPUs and CPU Period cannot both be set',
    ],
    [{ NanoCpus: 1e6 }, 'Range of CPUs is from 0.01 to'],
    [
      { AutoRemove: true, RestartPolicy: { Name: 'always' as const } },
      "can't create 'AutoRemove' container with restart policy",
    ],
  ])('%j → %s', (hc, message) => {
    expect(() => verifyHostConfig(hc)).toThrow(message);
  });
});
