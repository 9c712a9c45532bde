import { describe, expect, it } from 'vitest';
import { containerPath, goBase } from '../../src/container/copy-paths.js';
import { goFileMode, isGoDirMode } from '../../src/container/path-stat.js';

describe('docker cp paths', () => {
  it('cleans like filepath.Join("/", p) and keeps a trailing `/` or `/.` (PreserveTrailingDotOrSeparator)', () => {
    const cases: Array<[string, string]> = [
      ['/etc/hostname', '/etc/hostname'],
      ['etc//hostname', '/etc/hostname'],
      ['/tmp/', '/tmp/'],
      ['/tmp/.', '/tmp/.'],
      ['/tmp/./', '/tmp/./'],
      ['.', '/.'],
      ['/', '/'],
      ['/../../etc', '/etc'],
      ['/a/b/../c/', '/a/c/'],
      ['/a/..', '/'],
    ];
    for (const [input, expected] of cases) expect([input, containerPath(input)]).toEqual([input, expected]);
  });

  it('names things as filepath.Base does', () => {
    expect(['/etc/hostname', '/tmp/', '/tmp/.', '/', '/.'].map(goBase)).toEqual([
      'hostname',
      'tmp',
      '.',
      '/',
      '.',
    ]);
  });
});

describe('Go os.FileMode', () => {
  it('moves the type and special bits to Go’s positions', () => {
    expect(goFileMode(0o100644)).toBe(0o644);
    expect(goFileMode(0o040755)).toBe(2147484141); // the CLI-FLOWS example
    expect(goFileMode(0o120777)).toBe(2 ** 27 + 0o777);
    expect(goFileMode(0o104755)).toBe(2 ** 23 + 0o755);
    expect(goFileMode(0o102755)).toBe(2 ** 22 + 0o755);
    expect(goFileMode(0o041777)).toBe(2 ** 31 + 2 ** 20 + 0o777);
    expect(goFileMode(0o020666)).toBe(2 ** 26 + 2 ** 21 + 0o666);
    expect(goFileMode(0o060660)).toBe(2 ** 26 + 0o660);
    expect(goFileMode(0o010644)).toBe(2 ** 25 + 0o644);
    expect(goFileMode(0o140755)).toBe(2 ** 24 + 0o755);
    expect(isGoDirMode(goFileMode(0o040700))).toBe(true);
    expect(isGoDirMode(goFileMode(0o120777))).toBe(false);
  });
});
