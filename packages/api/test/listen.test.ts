import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiServer, startApiServer } from '@tsdocker/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDaemon } from './fake-daemon.js';
import { hijackRequest, RawConnection, request } from './helpers.js';

let dir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsdocker-listen-test-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function start(
  opts: Partial<Parameters<typeof startApiServer>[1]> & { hosts: string[] },
): Promise<ApiServer> {
  const server = await startApiServer(new FakeDaemon(), opts);
  cleanups.push(() => server.close());
  return server;
}

function listenRaw(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end());
    server.once('error', reject);
    server.listen(path, () => resolve(server));
    cleanups.push(() => new Promise((done) => server.close(() => done())));
  });
}

describe('unix socket', () => {
  it('creates the socket with mode 0660 and removes it on close', async () => {
    const path = join(dir, 'run', 'api.sock');
    const server = await start({ hosts: [`unix://${path}`] });
    expect(server.addresses).toEqual([`unix://${path}`]);
    const info = await lstat(path);
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o660);
    expect((await request(path, { path: '/_ping' })).text).toBe('OK');
    await server.close();
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    // Nothing staged is left behind next to it.
    expect(await readdir(join(dir, 'run'))).toEqual([]);
  });

  it('gives the socket to the requested group', async () => {
    const path = join(dir, 'grp.sock');
    // gid 1 ("daemon" on Debian) exists everywhere we run; numeric gids skip the name lookup.
    await start({ hosts: [`unix://${path}`], socketGroup: '1' });
    expect((await stat(path)).gid).toBe(1);
  });

  it('carries on with a warning when the group does not exist', async () => {
    const path = join(dir, 'nogrp.sock');
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (msg: string) => warnings.push(msg), error() {} };
    await start({ hosts: [`unix://${path}`], socketGroup: 'no-such-group-here', logger });
    expect(warnings.some((w) => w.includes('no-such-group-here'))).toBe(true);
    expect((await lstat(path)).mode & 0o777).toBe(0o660);
  });

  it('replaces a stale socket file nobody answers on', async () => {
    const path = join(dir, 'stale.sock');
    // A process that exits without closing its server leaves the socket file behind, as a crash does.
    execFileSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    expect((await lstat(path)).isSocket()).toBe(true);
    await start({ hosts: [`unix://${path}`] });
    expect((await request(path, { path: '/_ping' })).text).toBe('OK');
    expect((await lstat(path)).mode & 0o777).toBe(0o660);
  });

  it('refuses a socket that another daemon is serving', async () => {
    const path = join(dir, 'live.sock');
    await listenRaw(path);
    await expect(start({ hosts: [`unix://${path}`] })).rejects.toThrow('another daemon is serving it');
  });

  it('refuses a path that is not a socket', async () => {
    const path = join(dir, 'file.sock');
    await writeFile(path, 'not a socket');
    await expect(start({ hosts: [`unix://${path}`] })).rejects.toThrow('exists and is not a socket');
  });

  it('ends hijacked connections on close', async () => {
    const path = join(dir, 'hijack.sock');
    const daemon = new FakeDaemon();
    const server = await startApiServer(daemon, { hosts: [`unix://${path}`] });
    cleanups.push(() => server.close());
    const id = await daemon.runSleeper('long');
    const conn = await RawConnection.open(path);
    conn.write(hijackRequest(`/v1.50/containers/${id}/attach?stdout=1&stream=1`));
    expect((await conn.readHead()).status).toBe(101);
    await server.close();
    // The server ended the stream (readToEnd returns on its FIN) although the container still runs.
    await conn.readToEnd();
    expect(daemon.containerMap.get(id)?.status).toBe('running');
    conn.destroy();
  });
});

describe('tcp', () => {
  it('refuses plain TCP unless explicitly allowed', async () => {
    await expect(start({ hosts: ['tcp://127.0.0.1:0'] })).rejects.toThrow(
      /refusing to listen on tcp:\/\/127\.0\.0\.1:0 without TLS/,
    );
  });

  it('listens on TCP when allowed, and refuses browser requests there', async () => {
    const server = await start({ hosts: ['tcp://127.0.0.1:0'], allowInsecureTcp: true });
    const address = server.addresses[0] ?? '';
    expect(address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(address.split(':').at(-1));
    const ping = await fetch(`http://127.0.0.1:${port}/_ping`);
    expect(await ping.text()).toBe('OK');
    const fromBrowser = await fetch(`http://127.0.0.1:${port}/containers/json`, {
      headers: { Origin: 'https://evil.example' },
    });
    expect(fromBrowser.status).toBe(403);
    expect(fromBrowser.headers.get('content-type')).toBe('application/json');
  });

  it('opens nothing when one of several hosts is invalid', async () => {
    const path = join(dir, 'first.sock');
    await expect(start({ hosts: [`unix://${path}`, 'tcp://127.0.0.1:0'] })).rejects.toThrow(/without TLS/);
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
