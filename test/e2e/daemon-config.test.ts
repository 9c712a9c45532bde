/** Start-up failures are clear: a config that names a driver that is not installed. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_BIN } from '../helpers/daemon.js';
import {
  isolatedNetworkNames,
  leftoverLinks,
  leftoverRules,
  removeNetworkLeftovers,
} from '../helpers/network-names.js';

let dir = '';
const network = isolatedNetworkNames();
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  removeNetworkLeftovers(network);
});

/** A start that fails leaves nothing on the host: no bridge, no firewall chain. */
function expectNothingLeftOnTheHost(): void {
  expect(leftoverLinks(network)).toEqual([]);
  expect(leftoverRules(network)).toEqual([]);
}

function runDaemon(config: Record<string, unknown>) {
  dir = mkdtempSync(join(tmpdir(), 'tsd-cfg-'));
  const file = join(dir, 'daemon.json');
  writeFileSync(
    file,
    JSON.stringify({
      'data-root': join(dir, 'data'),
      'exec-root': join(dir, 'exec'),
      hosts: [`unix://${join(dir, 's.sock')}`],
      ...network.config,
      ...config,
    }),
  );
  return spawnSync(process.execPath, [CLI_BIN, 'daemon', '--config-file', file], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('daemon start-up with a bad config file', () => {
  it('an unknown storage driver fails, naming the package to install', () => {
    const r = runDaemon({ 'storage-driver': 'zfs-nope' });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(
      /graph driver "zfs-nope" is not installed: install the package zfs-nope/,
    );
    expectNothingLeftOnTheHost();
  });

  it('an unknown exec driver fails, naming the package to install', () => {
    const r = runDaemon({ 'storage-driver': 'vfs', 'exec-driver': '@acme/execdriver-kata' });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(
      /exec driver "@acme\/execdriver-kata" is not installed: install the package @acme\/execdriver-kata/,
    );
    expectNothingLeftOnTheHost();
  });

  it('an unknown key fails like dockerd', () => {
    const r = runDaemon({ 'storage-drvier': 'vfs' });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(
      /the following directives don't match any configuration option: storage-drvier/,
    );
  });
});
