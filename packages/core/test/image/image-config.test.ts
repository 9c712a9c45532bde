import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  chainIdsOf,
  createChainId,
  type Digest,
  encodeImageConfig,
  parseImageConfig,
  sha256Digest,
  TsdockerError,
  topChainId,
} from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers.js';

/** busybox.tar's config: what `docker import` with `CMD ["sh"]` wrote (dockerd 20.10). */
const BUSYBOX_CONFIG = '0a27d1de91d69b413197988674e20e150340c514c7588f89369a765f8863ac52';
const fixtureConfig = (): Buffer =>
  execFileSync('tar', ['-xOf', join(FIXTURES, 'busybox.tar'), `${BUSYBOX_CONFIG}.json`]);

describe('chain ids', () => {
  const diffIds = readFileSync(join(FIXTURES, 'layered.diffids.txt'), 'utf8')
    .split('\n')
    .filter(Boolean) as Digest[];

  it('a base layer’s chain id is its diff id', () => {
    expect(createChainId(null, diffIds[0] as Digest)).toBe(diffIds[0]);
  });

  it('above it: sha256 of "<parent chain id> <diff id>" (computed by hand with sha256sum)', () => {
    // printf 'sha256:23a3… sha256:b988…' | sha256sum
    expect(createChainId(diffIds[0] as Digest, diffIds[1] as Digest)).toBe(
      'sha256:b928bae7c37fd715039e3ed411196109b288fb66f5af948c36ec06f8b28799ef',
    );
  });

  it('chains the 7 layers of the layered fixture', () => {
    const chain = chainIdsOf(diffIds);
    expect(chain).toHaveLength(7);
    expect(chain[0]).toBe(diffIds[0]);
    for (let i = 1; i < chain.length; i++) {
      expect(chain[i]).toBe(sha256Digest(`${chain[i - 1]} ${diffIds[i]}`));
    }
    // Cross-checked with an independent implementation (Python hashlib).
    expect(topChainId(diffIds)).toBe(
      'sha256:ac1b7aea487bd4f03425a9366655fe79da1e4e5ddbbcc8f4c09c60ddce3e0752',
    );
    expect(topChainId([])).toBeNull();
  });
});

describe('image config encoding', () => {
  it('re-encodes Docker’s own import config byte for byte (so the image id matches)', () => {
    const raw = fixtureConfig();
    expect(sha256Digest(raw)).toBe(`sha256:${BUSYBOX_CONFIG}`);
    const config = parseImageConfig(raw);
    const again = encodeImageConfig({
      architecture: config.architecture as string,
      os: config.os as string,
      comment: config.comment,
      created: config.created as string,
      docker_version: config.docker_version,
      config: config.config,
      container_config: config.container_config,
      rootfs: config.rootfs,
      history: config.history,
    });
    expect(again.toString()).toBe(raw.toString());
  });

  it('escapes like Go and sorts map keys bytewise', () => {
    const raw = encodeImageConfig({
      architecture: 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Cmd: ['echo', '<a> & b'], Labels: { b: '1', B: '2', '10': 'x', '9': 'y' } },
      rootfs: { type: 'layers', diff_ids: [] },
    }).toString();
    expect(raw).toContain('"Cmd":["echo","\\u003ca\\u003e \\u0026 b"]');
    expect(raw).toContain('"Labels":{"10":"x","9":"y","B":"2","b":"1"}');
    expect(raw).toContain('"rootfs":{"type":"layers"}');
    expect(JSON.parse(raw).config.Cmd).toEqual(['echo', '<a> & b']);
  });
});

describe('parseImageConfig', () => {
  const base = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };
  const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
  const refuse = (v: unknown, message: RegExp) => {
    try {
      parseImageConfig(typeof v === 'string' ? Buffer.from(v) : bytes(v));
      expect.unreachable();
    } catch (err) {
      expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
  };

  it('accepts OCI-style configs with fields missing, and Cmd given as a string', () => {
    const c = parseImageConfig(bytes({ ...base, config: { Cmd: 'sh', Env: ['A=1'] } }));
    expect(c.config?.Cmd).toEqual(['sh']);
  });

  it('refuses what Docker would not use', () => {
    refuse('{', /invalid image config/);
    refuse({ architecture: 'amd64' }, /rootfs/);
    refuse({ ...base, rootfs: { type: 'layers', diff_ids: ['sha256:abc'] } }, /not a sha256 digest/);
    refuse({ ...base, rootfs: { type: 'layers+base', diff_ids: [] } }, /unsupported rootfs type/);
    refuse({ ...base, os: 'windows' }, /image operating system "windows" cannot be used on this platform/);
    refuse({ ...base, created: 'yesterday' }, /created: not an RFC 3339 timestamp/);
    refuse({ ...base, history: [{ created_by: 'x' }] }, /too many non-empty layers in History section/);
    refuse({ ...base, config: { Env: 'A=1' } }, /config\.Env/);
  });
});
