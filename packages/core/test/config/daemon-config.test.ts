import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDaemonConfig } from '../../src/config/daemon-config.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsd-config-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('daemon config', () => {
  it('has dockerd-like defaults', async () => {
    const c = await loadDaemonConfig({});
    expect(c['data-root']).toBe('/var/lib/tsdocker');
    expect(c.hosts).toEqual(['unix:///run/tsdocker.sock']);
    expect(c['exec-driver']).toBe('native');
    expect(c['storage-driver']).toBeUndefined();
  });

  it('a missing default file is fine, a missing explicit one is not', async () => {
    await expect(loadDaemonConfig({ configFile: join(dir, 'none.json') })).resolves.toBeTruthy();
    await expect(
      loadDaemonConfig({ configFile: join(dir, 'none.json'), configFileRequired: true }),
    ).rejects.toThrow('unable to read config file');
  });

  it('flags override the file', async () => {
    const file = join(dir, 'daemon.json');
    await writeFile(file, JSON.stringify({ 'data-root': '/a', 'storage-driver': 'vfs' }));
    const c = await loadDaemonConfig({ configFile: file, overrides: { 'data-root': '/b' } });
    expect(c['data-root']).toBe('/b');
    expect(c['storage-driver']).toBe('vfs');
  });

  it.each([
    ['{"data-root": ', /invalid config file/],
    ['[]', /not a JSON object/],
    ['{"data-root": "relative"}', /data-root: must be an absolute path/],
    ['{"debug": "yes"}', /debug:/],
    ['{"bogus": 1}', /the following directives don't match any configuration option: bogus/],
  ])('refuses %s', async (text, message) => {
    const file = join(dir, 'daemon.json');
    await writeFile(file, text);
    await expect(loadDaemonConfig({ configFile: file })).rejects.toThrow(message);
  });
});
