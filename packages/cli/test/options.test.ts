import { describe, expect, it } from 'vitest';
import { buildExecBody } from '../src/commands/exec.js';
import { buildCreateRequest, FlagValueError } from '../src/container/create-body.js';
import { startFailureExitCode } from '../src/container/lifecycle.js';
import { parseNanoCpus } from '../src/options/cpus.js';
import { resolveEnvFlag } from '../src/options/env.js';
import { encodeFilters, parseFilterFlags } from '../src/options/filters.js';
import { parseGoDuration } from '../src/options/go-duration.js';
import { parseRamBytes } from '../src/options/memory.js';
import { toApiTimestamp } from '../src/options/timestamp.js';
import { DetachKeyDetector, parseDetachKeys } from '../src/streams/detach-keys.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

describe('parseRamBytes (go-units RAMInBytes test table)', () => {
  it.each([
    ['32', 32],
    ['32b', 32],
    ['32B', 32],
    ['32k', 32 * KiB],
    ['32K', 32 * KiB],
    ['32kb', 32 * KiB],
    ['32Kib', 32 * KiB],
    ['32KIB', 32 * KiB],
    ['32Mb', 32 * MiB],
    ['512m', 512 * MiB],
    ['32Gb', 32 * GiB],
    ['1g', GiB],
    ['32Tb', 32 * 1024 ** 4],
    ['32P', 32 * 1024 ** 5],
    ['32.3', 32],
    ['32.3 mb', Math.trunc(32.3 * MiB)],
    ['0.3MB', Math.trunc(0.3 * MiB)],
  ])('%s → %d', (input, bytes) => {
    expect(parseRamBytes(input)).toBe(bytes);
  });

  it.each(['', 'hello', '-32', ' 32 ', '32m b', '32bm', '.3kB', '1x'])('rejects %j', (input) => {
    expect(() => parseRamBytes(input)).toThrow();
  });

  it('words errors like go-units', () => {
    expect(() => parseRamBytes('1x')).toThrow("invalid suffix: 'x'");
    expect(() => parseRamBytes('hello')).toThrow("invalid size: 'hello'");
  });
});

describe('parseNanoCpus (docker opts.ParseCPUs)', () => {
  it.each([
    ['1', 1_000_000_000],
    ['1.5', 1_500_000_000],
    ['0.25', 250_000_000],
    ['.5', 500_000_000],
    ['2.000000001', 2_000_000_001],
    ['0.100000000', 100_000_000],
  ])('%s → %d', (input, nanos) => {
    expect(parseNanoCpus(input)).toBe(nanos);
  });

  it('refuses values finer than a nano-CPU and non-numbers', () => {
    expect(() => parseNanoCpus('0.0000000001')).toThrow('value is too precise');
    expect(() => parseNanoCpus('abc')).toThrow('failed to parse abc as a rational number');
  });
});

describe('run flags → create request', () => {
  const environment = { env: { HOME: '/root', FOO: 'from-client' } };

  it('maps a plain attached run like docker', () => {
    const { query, body } = buildCreateRequest('busybox', ['echo', 'hi'], { rm: true }, environment);
    expect(query).toEqual({});
    expect(body).toMatchObject({
      Hostname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: null,
      Cmd: ['echo', 'hi'],
      Image: 'busybox',
      WorkingDir: '',
      Entrypoint: null,
      HostConfig: {
        AutoRemove: true,
        NetworkMode: 'default',
        Memory: 0,
        NanoCpus: 0,
        CpuShares: 0,
        PidsLimit: null,
        ConsoleSize: [0, 0],
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        MemorySwappiness: -1,
      },
    });
    expect(Object.keys(body).slice(0, 3)).toEqual(['Hostname', 'Domainname', 'User']);
    expect((body.NetworkingConfig as { EndpointsConfig: object }).EndpointsConfig).toHaveProperty('default');
  });

  it('maps resources, identity and environment flags', () => {
    const { query, body } = buildCreateRequest(
      'alpine:3.19',
      [],
      {
        name: 'web',
        memory: '512m',
        cpus: '1.5',
        cpuShares: '512',
        pidsLimit: '100',
        env: ['A=1', 'FOO', 'UNSET'],
        workdir: '/srv',
        user: 'nobody:nogroup',
        hostname: 'box',
        entrypoint: '/bin/sh',
        network: 'none',
      },
      environment,
    );
    expect(query).toEqual({ name: 'web' });
    expect(body.Cmd).toBeNull();
    expect(body.Env).toEqual(['A=1', 'FOO=from-client', 'UNSET']);
    expect(body.WorkingDir).toBe('/srv');
    expect(body.User).toBe('nobody:nogroup');
    expect(body.Hostname).toBe('box');
    expect(body.Entrypoint).toEqual(['/bin/sh']);
    expect(body.HostConfig).toMatchObject({
      Memory: 512 * MiB,
      NanoCpus: 1_500_000_000,
      CpuShares: 512,
      PidsLimit: 100,
      NetworkMode: 'none',
    });
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: {} });
  });

  it('encodes --entrypoint "" as [""] (reset the image entrypoint)', () => {
    expect(buildCreateRequest('busybox', [], { entrypoint: '' }, environment).body.Entrypoint).toEqual(['']);
  });

  it('sets the stdin fields for -i and the console size for -t', () => {
    const { body } = buildCreateRequest(
      'busybox',
      ['sh'],
      { interactive: true, tty: true },
      { ...environment, consoleSize: [30, 100] },
    );
    expect(body).toMatchObject({ AttachStdin: true, OpenStdin: true, StdinOnce: true, Tty: true });
    expect((body.HostConfig as { ConsoleSize: number[] }).ConsoleSize).toEqual([30, 100]);
  });

  it('detaches: nothing attached, stdin kept open with -i', () => {
    const { body } = buildCreateRequest('busybox', [], { detach: true, interactive: true }, environment);
    expect(body).toMatchObject({
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      OpenStdin: true,
      StdinOnce: false,
    });
  });

  it("refuses bad values with docker's flag error text", () => {
    expect(() => buildCreateRequest('busybox', [], { memory: '1x' }, environment)).toThrow(
      new FlagValueError('-m, --memory', '1x', "invalid suffix: 'x'"),
    );
    expect(() => buildCreateRequest('busybox', [], { memory: '1x' }, environment)).toThrow(
      `invalid argument "1x" for "-m, --memory" flag: invalid suffix: 'x'`,
    );
    expect(() => buildCreateRequest('busybox', [], { cpuShares: 'lots' }, environment)).toThrow(
      'strconv.ParseInt: parsing "lots": invalid syntax',
    );
    expect(() => buildCreateRequest('busybox', [], { env: ['=x'] }, environment)).toThrow(
      'invalid environment variable: =x',
    );
  });
});

describe('exec body', () => {
  it('matches the observed docker body', () => {
    expect(JSON.stringify(buildExecBody(['echo', 'hello'], {}, { env: {} }))).toBe(
      '{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["echo","hello"]}',
    );
    expect(
      buildExecBody(
        ['sh'],
        { interactive: true, tty: true, env: ['X=1'], workdir: '/tmp', user: 'nobody' },
        { env: {}, consoleSize: [30, 100] },
      ),
    ).toMatchObject({
      Tty: true,
      ConsoleSize: [30, 100],
      AttachStdin: true,
      Env: ['X=1'],
      WorkingDir: '/tmp',
      User: 'nobody',
    });
    expect(buildExecBody(['true'], { detach: true }, { env: {} })).toMatchObject({
      AttachStdout: false,
      AttachStderr: false,
      Detach: true,
    });
  });
});

describe('start failure exit codes', () => {
  it.each([
    ['failed to create task: exec: "nosuch": executable file not found in $PATH', 127],
    ['open /bin/x: no such file or directory', 127],
    ['exec /etc: permission denied', 126],
    ['exec /tmp: is a directory', 126],
    ['No such image: nosuch:latest', 125],
  ])('%s → %d', (message, code) => {
    expect(startFailureExitCode(`Error response from daemon: ${message}`)).toBe(code);
  });
});

describe('other flag values', () => {
  it('resolves bare -e KEY from the client environment', () => {
    expect(resolveEnvFlag('A=1', {})).toBe('A=1');
    expect(resolveEnvFlag('A', { A: 'x' })).toBe('A=x');
    expect(resolveEnvFlag('A', {})).toBe('A');
  });

  it('encodes --filter as the sorted map-of-booleans JSON', () => {
    expect(encodeFilters(parseFilterFlags(['status=exited', 'label=b=2', 'label=a=1']))).toBe(
      '{"label":{"a=1":true,"b=2":true},"status":{"exited":true}}',
    );
    expect(encodeFilters(parseFilterFlags([]))).toBeUndefined();
    expect(() => parseFilterFlags(['nope'])).toThrow('bad format of filter');
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('10m')).toBe(600_000);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('300ms')).toBe(300);
    // Go spells microseconds three ways: us, U+00B5 (micro sign) and U+03BC (Greek mu).
    expect(parseGoDuration('1500us')).toBe(1.5);
    expect(parseGoDuration('1500\u00b5s')).toBe(1.5);
    expect(parseGoDuration('1500\u03bcs')).toBe(1.5);
    expect(parseGoDuration('2024-01-01')).toBeUndefined();
  });

  it('converts --since/--until like timetypes.GetTimestamp', () => {
    const now = Date.UTC(2024, 0, 2, 0, 0, 0);
    expect(toApiTimestamp('10m', now)).toBe(String(now / 1000 - 600));
    expect(toApiTimestamp('2024-01-01T00:00:00Z', now)).toBe('1704067200.000000000');
    expect(toApiTimestamp('2024-01-01T01:00:00.5+01:00', now)).toBe('1704067200.500000000');
    expect(toApiTimestamp('1704067200', now)).toBe('1704067200');
    expect(toApiTimestamp('1704067200.123', now)).toBe('1704067200.123');
    expect(() => toApiTimestamp('yesterday', now)).toThrow('failed to parse value as time or duration');
  });

  it('detects the detach keys only when typed one by one', () => {
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual(Buffer.from([16, 17]));
    expect(parseDetachKeys('a,ctrl-@,ctrl-[')).toEqual(Buffer.from([97, 0, 27]));
    const detector = new DetachKeyDetector();
    expect(detector.feed(Buffer.from([16]))).toEqual({ data: Buffer.alloc(0), detach: false });
    expect(detector.feed(Buffer.from('x'))).toEqual({ data: Buffer.from([16, 120]), detach: false });
    detector.feed(Buffer.from([16]));
    expect(detector.feed(Buffer.from([17])).detach).toBe(true);
    expect(detector.feed(Buffer.from([16, 17])).detach).toBe(false);
  });
});
