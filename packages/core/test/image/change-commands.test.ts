import { applyChanges, type ContainerConfig, emptyContainerConfig, TsdockerError } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';

const apply = (...changes: string[]) => applyChanges(emptyContainerConfig(), changes);

describe('applyChanges (import/commit -c)', () => {
  it('CMD: JSON form as is, shell form through /bin/sh -c', () => {
    expect(apply('CMD ["sh"]').Cmd).toEqual(['sh']);
    expect(apply('CMD sh').Cmd).toEqual(['/bin/sh', '-c', 'sh']);
    expect(apply('CMD echo "a  b" $HOME').Cmd).toEqual(['/bin/sh', '-c', 'echo "a  b" $HOME']);
    expect(apply('cmd ["a", "b"]').Cmd).toEqual(['a', 'b']);
    expect(apply('CMD []').Cmd).toEqual([]);
    // Not valid JSON: shell form, as the Dockerfile parser does.
    expect(apply('CMD ["sh"').Cmd).toEqual(['/bin/sh', '-c', '["sh"']);
  });

  it('CMD uses the config’s SHELL for shell form', () => {
    const base: ContainerConfig = { ...emptyContainerConfig(), Shell: ['/bin/bash', '-lc'] };
    expect(applyChanges(base, ['CMD make']).Cmd).toEqual(['/bin/bash', '-lc', 'make']);
  });

  it('ENTRYPOINT resets an inherited CMD unless CMD was set earlier in the same changes', () => {
    const base: ContainerConfig = { ...emptyContainerConfig(), Cmd: ['old'] };
    expect(applyChanges(base, ['ENTRYPOINT ["/e"]'])).toMatchObject({ Entrypoint: ['/e'], Cmd: null });
    expect(applyChanges(base, ['CMD ["c"]', 'ENTRYPOINT ["/e"]'])).toMatchObject({
      Entrypoint: ['/e'],
      Cmd: ['c'],
    });
    expect(applyChanges(base, ['ENTRYPOINT ["/e"]', 'CMD ["c"]'])).toMatchObject({
      Entrypoint: ['/e'],
      Cmd: ['c'],
    });
    expect(apply('ENTRYPOINT run.sh').Entrypoint).toEqual(['/bin/sh', '-c', 'run.sh']);
  });

  it('ENV in both forms, replacing existing keys, with expansion against earlier values', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile variable syntax
    const c = apply('ENV A=1 B="two words"', 'ENV C $A-x', 'ENV A=3 D=$A', 'ENV E ${UNSET:-dflt} and more');
    expect(c.Env).toEqual(['A=3', 'B=two words', 'C=1-x', 'D=1', 'E=dflt and more']);
  });

  it('LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ONBUILD', () => {
    const c = apply(
      'LABEL a=1 "b c"="d e"',
      'EXPOSE 80 443/udp 8000-8002',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache /tmp/x',
      'USER 1000:1000',
      'WORKDIR /opt',
      'WORKDIR app/../srv',
      'STOPSIGNAL SIGQUIT',
      'ONBUILD RUN echo hi',
    );
    expect(c.Labels).toEqual({ a: '1', 'b c': 'd e' });
    expect(Object.keys(c.ExposedPorts ?? {}).sort()).toEqual([
      '443/udp',
      '80/tcp',
      '8000/tcp',
      '8001/tcp',
      '8002/tcp',
    ]);
    expect(Object.keys(c.Volumes ?? {}).sort()).toEqual(['/cache', '/data', '/logs', '/tmp/x']);
    expect(c.User).toBe('1000:1000');
    expect(c.WorkingDir).toBe('/opt/srv');
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(c.OnBuild).toEqual(['RUN echo hi']);
  });

  it('HEALTHCHECK with flags, and NONE', () => {
    const c = apply(
      'HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["/bin/sh", "-c", "test -f /x"]',
    );
    expect(c.Healthcheck).toEqual({
      Test: ['CMD', '/bin/sh', '-c', 'test -f /x'],
      Interval: 30_000_000_000,
      Timeout: 3_000_000_000,
      StartPeriod: 0,
      StartInterval: 0,
      Retries: 3,
    });
    expect(apply('HEALTHCHECK CMD curl -f http://localhost/').Healthcheck?.Test).toEqual([
      'CMD-SHELL',
      'curl -f http://localhost/',
    ]);
    expect(apply('HEALTHCHECK NONE').Healthcheck).toEqual({ Test: ['NONE'] });
    // buildkit takes `--flag value` only before any `--flag=value`.
    expect(apply('HEALTHCHECK --interval 5m CMD x').Healthcheck?.Interval).toBe(300_000_000_000);
    expect(() => apply('HEALTHCHECK --interval=5m --timeout 3s CMD x')).toThrow(
      'missing a value on flag: timeout',
    );
  });

  it('joins continuation lines and skips comments, as one Dockerfile', () => {
    const c = apply('# a comment', 'ENV A=1 \\', '    B=2', '', 'CMD ["x"]');
    expect(c.Env).toEqual(['A=1', 'B=2']);
    expect(c.Cmd).toEqual(['x']);
  });

  it('never changes the base config', () => {
    const base: ContainerConfig = { ...emptyContainerConfig(), Env: ['A=1'], Labels: { x: 'y' } };
    applyChanges(base, ['ENV A=2', 'LABEL x=z']);
    expect(base).toMatchObject({ Env: ['A=1'], Labels: { x: 'y' } });
  });

  const invalid: Array<[changes: string[], message: string]> = [
    [['RUN echo hi'], 'run is not a valid change command'],
    [['FROM busybox'], 'from is not a valid change command'],
    [['SHELL ["/bin/bash"]'], 'shell is not a valid change command'],
    [['ENV'], 'ENV requires at least one argument'],
    [['ENV A'], 'ENV must have two arguments'],
    [['ENV A=1 B'], `Syntax error - can't find = in "B". Must be of the form: name=value`],
    [['ENV =1'], 'ENV names can not be blank'],
    [['LABEL'], 'LABEL requires at least one argument'],
    [['USER'], 'USER requires exactly one argument'],
    [['WORKDIR'], 'WORKDIR requires exactly one argument'],
    [['EXPOSE'], 'EXPOSE requires at least one argument'],
    [['EXPOSE 80/foo'], 'invalid proto: foo'],
    [['EXPOSE abc'], 'invalid containerPort: abc'],
    [['STOPSIGNAL SIGNOPE'], 'Invalid signal: SIGNOPE'],
    [['CMD ["a", 1]'], 'when using JSON array syntax, arrays must be comprised of strings only'],
    [['CMD --foo x'], 'unknown flag: foo'],
    [['HEALTHCHECK --interval=1ns CMD x'], 'Interval "interval" cannot be less than 1ms'],
    [['HEALTHCHECK --interval=ten CMD x'], 'time: invalid duration "ten"'],
    [['HEALTHCHECK --retries=-1 CMD x'], '--retries cannot be negative (-1)'],
    [['HEALTHCHECK BOGUS x'], 'Unknown type "BOGUS" in HEALTHCHECK (try CMD)'],
    [['HEALTHCHECK CMD'], 'Missing command after HEALTHCHECK CMD'],
    [['HEALTHCHECK NONE x'], 'HEALTHCHECK NONE takes no arguments'],
    [['ONBUILD ONBUILD RUN x'], "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    [['ONBUILD FROM x'], "FROM isn't allowed as an ONBUILD trigger"],
    [['ENV A="unterminated'], 'unexpected end of statement while looking for matching double-quote'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile variable syntax
    [['ENV A=${B:?unset}'], 'B: unset'],
    // The first bad instruction stops everything, even after valid ones.
    [['ENV A=1', 'RUN x'], 'run is not a valid change command'],
  ];
  it.each(invalid)('refuses %j: %s', (changes, message) => {
    try {
      apply(...changes);
      expect.unreachable();
    } catch (err) {
      expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
      expect((err as Error).message).toBe(message);
    }
  });
});
