import {
  familiarMatch,
  familiarName,
  familiarString,
  parseAnyReference,
  parseNormalizedNamed,
  refString,
  repoTagReference,
  TsdockerError,
} from '@tsdocker/core';
import { describe, expect, it } from 'vitest';

const HEX = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';

describe('parseNormalizedNamed', () => {
  const valid: Array<[input: string, normalised: string, familiar: string]> = [
    ['busybox', 'docker.io/library/busybox', 'busybox'],
    ['busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['myrepo/bb:v1', 'docker.io/myrepo/bb:v1', 'myrepo/bb:v1'],
    ['docker.io/library/busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox', 'busybox'],
    ['docker.io/busybox', 'docker.io/library/busybox', 'busybox'],
    ['library/busybox', 'docker.io/library/busybox', 'busybox'],
    ['localhost:5000/x', 'localhost:5000/x', 'localhost:5000/x'],
    ['localhost/x:tag', 'localhost/x:tag', 'localhost/x:tag'],
    [
      'registry.example.com/team/app:1.0',
      'registry.example.com/team/app:1.0',
      'registry.example.com/team/app:1.0',
    ],
    ['HOSTNAME.DOMAIN.COM:443/foo/bar', 'HOSTNAME.DOMAIN.COM:443/foo/bar', 'HOSTNAME.DOMAIN.COM:443/foo/bar'],
    ['[::1]:5000/img', '[::1]:5000/img', '[::1]:5000/img'],
    ['docker.io/library/a/b', 'docker.io/library/a/b', 'library/a/b'],
    ['a__b-c---e/f_g.h', 'docker.io/a__b-c---e/f_g.h', 'a__b-c---e/f_g.h'],
    // A first component with a dot is a registry only if it is a valid host name: otherwise the
    // whole name is a path without a domain (distribution/reference does the same).
    ['a_b.c/d', 'a_b.c/d', 'a_b.c/d'],
    [`busybox@sha256:${HEX}`, `docker.io/library/busybox@sha256:${HEX}`, `busybox@sha256:${HEX}`],
    [`bb:1@sha256:${HEX}`, `docker.io/library/bb:1@sha256:${HEX}`, `bb:1@sha256:${HEX}`],
    ['x:A_b.9-z', 'docker.io/library/x:A_b.9-z', 'x:A_b.9-z'],
  ];
  it.each(valid)('%s → %s (shown as %s)', (input, normalised, familiar) => {
    const ref = parseNormalizedNamed(input);
    expect(refString(ref)).toBe(normalised);
    expect(familiarString(ref)).toBe(familiar);
  });

  const invalid: Array<[input: string, message: string]> = [
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['myrepo/Bb:v1', 'invalid reference format: repository name (myrepo/Bb) must be lowercase'],
    ['busybox:', 'invalid reference format'],
    [':tag', 'invalid reference format'],
    ['bb:-tag', 'invalid reference format'],
    [`bb:${'t'.repeat(129)}`, 'invalid reference format'],
    ['a/../b', 'invalid reference format'],
    ['-index:5000/busybox:test', 'invalid reference format'],
    ['a b', 'invalid reference format'],
    ['bb@sha256:abc', 'invalid reference format'],
    [`bb@sha256:${HEX.slice(0, 40)}`, 'invalid checksum digest length'],
    [`bb@md5:${HEX}`, 'unsupported digest algorithm'],
    [HEX, `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`],
    [`${'a'.repeat(250)}/bb`, 'repository name must not be more than 255 characters'],
    ['', 'invalid reference format'],
  ];
  it.each(invalid)('refuses %j: %s', (input, message) => {
    try {
      parseNormalizedNamed(input);
      expect.unreachable();
    } catch (err) {
      expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
      expect((err as Error).message).toBe(message);
    }
  });

  it('familiar names strip only docker.io and the library/ of official images', () => {
    expect(familiarName(parseNormalizedNamed('busybox:1'))).toBe('busybox');
    expect(familiarName(parseNormalizedNamed('quay.io/library/x'))).toBe('quay.io/library/x');
  });
});

describe('parseAnyReference', () => {
  it('reads ids as digests and everything else as names', () => {
    expect(parseAnyReference(HEX)).toEqual({ kind: 'digest', digest: `sha256:${HEX}` });
    expect(parseAnyReference(`sha256:${HEX}`)).toEqual({ kind: 'digest', digest: `sha256:${HEX}` });
    // A short id is not a digest: it is a (possible) name, and the id prefix is tried later.
    const short = parseAnyReference('a3ed95');
    expect(short.kind).toBe('named');
    expect(refString(short)).toBe('docker.io/library/a3ed95');
    expect(refString(parseAnyReference('sha256:a3ed95'))).toBe('docker.io/library/sha256:a3ed95');
  });
});

describe('repoTagReference', () => {
  it('takes the tag from repo, lets an explicit tag win, defaults to latest', () => {
    expect(familiarString(repoTagReference('myimp:1') as never)).toBe('myimp:1');
    expect(familiarString(repoTagReference('myimp:1', '2') as never)).toBe('myimp:2');
    expect(familiarString(repoTagReference('docker.io/myrepo/bb') as never)).toBe('myrepo/bb:latest');
    expect(repoTagReference('')).toBeNull();
  });

  it('refuses digests and bad tags', () => {
    expect(() => repoTagReference(`bb@sha256:${HEX}`)).toThrow('cannot import digest reference');
    expect(() => repoTagReference('bb', 'bad tag')).toThrow('invalid tag format');
  });
});

describe('familiarMatch (the reference filter)', () => {
  const ref = (s: string) => parseNormalizedNamed(s);
  it.each([
    ['busybox', 'busybox:latest', true],
    ['busybox:*', 'busybox:latest', true],
    ['busy*', 'busybox:1', true],
    ['myrepo/*', 'myrepo/bb:v1', true],
    ['*', 'myrepo/bb:v1', false],
    ['*/*', 'myrepo/bb:v1', true],
    ['bb:v?', 'bb:v1', true],
    ['bb:v[0-9]', 'bb:v1', true],
    ['bb:v[^0-9]', 'bb:v1', false],
    ['bb:v\\1', 'bb:v1', true],
    ['alpine', 'busybox:latest', false],
  ])('%s vs %s → %s', (pattern, target, expected) => {
    expect(familiarMatch(pattern, ref(target))).toBe(expected);
  });

  it('reports a malformed pattern', () => {
    expect(() => familiarMatch('bb[', ref('bb'))).toThrow('syntax error in pattern');
  });
});
