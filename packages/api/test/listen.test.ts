import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, lstat, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiServer, startApiServer } from '@tsdocker/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDaemon } from './fake-daemon.js';
import { docker, hijackRequest, RawConnection, request } from './helpers.js';
import { makeTestPki, type TestPki } from './tls-certs.js';

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

interface WatchResult {
  mode: number;
  uid: number;
  gid: number;
  isSocket: boolean;
  stagingModes: number[];
}

const WATCHER_SOURCE = `
const fs = require('fs');
const path = require('path');
const target = process.argv[1];
const dir = path.dirname(target);
const stagingModes = new Set();
process.stdout.write('ready\\n');
const deadline = Date.now() + 60000;
for (let i = 0; Date.now() < deadline; i++) {
  try {
    const st = fs.lstatSync(target);
    process.stdout.write(JSON.stringify({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
      isSocket: st.isSocket(), stagingModes: [...stagingModes] }) + '\\n');
    process.exit(0);
  } catch {}
  if (i % 8 === 0) {
    try {
      for (const name of fs.readdirSync(dir)) {
        if (name.startsWith('.tsdocker-api-')) stagingModes.add(fs.lstatSync(path.join(dir, name)).mode & 0o7777);
      }
    } catch {}
  }
}
process.exit(3);
`;

/** Starts the lstat-spinning watcher; resolves once it is spinning. */
async function startWatcher(target: string): Promise<{ result: Promise<WatchResult> }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', WATCHER_SOURCE, target], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => {
    child.kill('SIGKILL');
  });
  let out = '';
  const lines: Array<(line: string) => void> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let nl = out.indexOf('\n');
    while (nl !== -1) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      lines.shift()?.(line);
      nl = out.indexOf('\n');
    }
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      lines.push(resolve);
      child.once('exit', (code) => reject(new Error(`watcher exited with ${code}`)));
    });
  const ready = nextLine();
  const result = nextLine().then((line) => JSON.parse(line) as WatchResult);
  expect(await ready).toBe('ready');
  return { result };
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

  it('refuses to start when a group that was asked for does not exist (like dockerd)', async () => {
    const path = join(dir, 'nogrp.sock');
    await expect(start({ hosts: [`unix://${path}`], socketGroup: 'no-such-group-here' })).rejects.toThrow(
      'group no-such-group-here not found',
    );
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    // Nothing staged is left behind either.
    expect(await readdir(dir)).toEqual([]);
  });

  it('is 0660 from the moment it exists, and never visible wider while it is set up', async () => {
    const path = join(dir, 'watched.sock');
    // A separate process spins on lstat (no inotify), so the event loop that binds the socket
    // cannot hide a window from it. It also looks at any staging directory it catches.
    const watcher = await startWatcher(path);
    await start({ hosts: [`unix://${path}`], socketGroup: '1' });
    const seen = await watcher.result;
    expect(seen.isSocket).toBe(true);
    expect(seen.mode.toString(8)).toBe('660');
    expect(seen.gid).toBe(1);
    expect(seen.uid).toBe(0);
    // Every staging directory caught in the act was private to root.
    for (const mode of seen.stagingModes) expect(mode.toString(8)).toBe('700');
  });

  it('refuses connections from users outside the group', async () => {
    // The directory is world-searchable, so only the socket's own mode can stop them.
    await chmod(dir, 0o755);
    const path = join(dir, 'private.sock');
    await start({ hosts: [`unix://${path}`], socketGroup: '1' });
    const asNobody = spawnSync(
      process.execPath,
      [
        '-e',
        `require('net').connect(${JSON.stringify(path)}).on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(0) })`,
      ],
      { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 30_000 },
    );
    expect(asNobody.stdout.trim()).toBe('EACCES');
    // A member of the group gets in.
    const asMember = spawnSync(
      process.execPath,
      [
        '-e',
        `require('net').connect(${JSON.stringify(path)}).on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(0) })`,
      ],
      { uid: 65534, gid: 1, encoding: 'utf8', timeout: 30_000 },
    );
    expect(asMember.stdout.trim()).toBe('connected');
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

  it('listens on TCP when allowed, warns loudly, and refuses browser requests there', async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (msg: string) => warnings.push(msg), error() {} };
    const server = await start({ hosts: ['tcp://127.0.0.1:0'], allowInsecureTcp: true, logger });
    expect(warnings.join('\n')).toMatch(/without --tlsverify is insecure/);
    expect(warnings.join('\n')).toMatch(/PLAIN TEXT/);
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

describe('tcp with TLS', () => {
  let pki: TestPki;

  beforeEach(() => {
    pki = makeTestPki(dir);
  });

  const mutualTls = () => ({
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    caFile: pki.caCert,
    verifyClients: true,
  });

  function portOf(server: ApiServer): number {
    return Number((server.addresses[0] ?? '').split(':').at(-1));
  }

  /** GET over TLS; resolves the status, or the error that ended the connection. */
  function tlsGet(
    port: number,
    path: string,
    client: { cert?: string; key?: string },
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string; contentType?: string } | { error: string }> {
    return new Promise((resolve) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          headers,
          ca: readFileSync(pki.caCert),
          cert: client.cert ? readFileSync(client.cert) : undefined,
          key: client.key ? readFileSync(client.key) : undefined,
          servername: 'localhost',
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] }),
          );
          res.on('error', (err) => resolve({ error: err.message }));
        },
      );
      req.on('error', (err) => resolve({ error: err.message }));
      req.end();
    });
  }

  it('serves clients with a certificate from the configured CA, and nobody else', async () => {
    const server = await start({ hosts: ['tcp://127.0.0.1:0'], tls: mutualTls() });
    const port = portOf(server);
    expect(await tlsGet(port, '/_ping', { cert: pki.clientCert, key: pki.clientKey })).toMatchObject({
      status: 200,
      body: 'OK',
    });
    expect(await tlsGet(port, '/_ping', {})).toHaveProperty('error');
    expect(
      await tlsGet(port, '/_ping', { cert: pki.otherClientCert, key: pki.otherClientKey }),
    ).toHaveProperty('error');
  });

  it('does not speak plain HTTP on a TLS port', async () => {
    const server = await start({ hosts: ['tcp://127.0.0.1:0'], tls: mutualTls() });
    const res = await fetch(`http://127.0.0.1:${portOf(server)}/_ping`).then(
      (r) => `status ${r.status}`,
      () => 'refused',
    );
    expect(res).toBe('refused');
  });

  it('works with the real docker CLI (--tlsverify), and the CLI without a client cert is refused', async () => {
    const server = await start({ hosts: ['tcp://127.0.0.1:0'], tls: mutualTls() });
    const host = `tcp://127.0.0.1:${portOf(server)}`;
    const configDir = join(dir, 'docker-config');
    const tlsArgs = (cert: string, key: string) => [
      '--tlsverify',
      '--tlscacert',
      pki.caCert,
      '--tlscert',
      cert,
      '--tlskey',
      key,
      '-H',
      host,
    ];
    const ok = await docker('', configDir, [
      ...tlsArgs(pki.clientCert, pki.clientKey),
      'version',
      '--format',
      '{{.Server.APIVersion}}',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('1.50');
    // Hijacked streams over TLS: the CLI closes its sending side (close_notify) when it has no
    // stdin, and the output must still arrive; with stdin, it all gets through.
    const hello = await docker('', configDir, [
      ...tlsArgs(pki.clientCert, pki.clientKey),
      'run',
      '--rm',
      'img',
      'echo',
      'hello',
    ]);
    expect(hello.stderr).toBe('');
    expect(hello.stdout).toBe('hello\n');
    const cat = await docker(
      '',
      configDir,
      [...tlsArgs(pki.clientCert, pki.clientKey), 'run', '-i', '--rm', 'img', 'cat'],
      'line1\nline2\n',
    );
    expect(cat.stdout).toBe('line1\nline2\n');
    const intruder = await docker('', configDir, [
      ...tlsArgs(pki.otherClientCert, pki.otherClientKey),
      'version',
      '--format',
      '{{.Server.APIVersion}}',
    ]);
    expect(intruder.code).not.toBe(0);
    expect(intruder.stderr).toMatch(/certificate|tls/i);
    const noCert = await docker('', configDir, ['--tls', '--tlscacert', pki.caCert, '-H', host, 'version']);
    expect(noCert.code).not.toBe(0);
    expect(noCert.stderr).toMatch(/certificate|tls/i);
  });

  it('refuses TLS without client verification unless explicitly allowed, then warns', async () => {
    const serverOnly = { certFile: pki.serverCert, keyFile: pki.serverKey, verifyClients: false };
    await expect(start({ hosts: ['tcp://127.0.0.1:0'], tls: serverOnly })).rejects.toThrow(
      /without client certificate verification/,
    );
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (msg: string) => warnings.push(msg), error() {} };
    const server = await start({
      hosts: ['tcp://127.0.0.1:0'],
      tls: serverOnly,
      allowInsecureTcp: true,
      logger,
    });
    expect(warnings.join('\n')).toMatch(/WITHOUT client certificate verification/);
    expect(await tlsGet(portOf(server), '/_ping', {})).toMatchObject({ status: 200 });
  });

  it('checks the TLS files before listening, naming the one at fault', async () => {
    await expect(
      start({ hosts: ['tcp://127.0.0.1:0'], tls: { ...mutualTls(), caFile: undefined } }),
    ).rejects.toThrow(/needs a CA certificate/);
    await expect(
      start({ hosts: ['tcp://127.0.0.1:0'], tls: { ...mutualTls(), keyFile: pki.clientKey } }),
    ).rejects.toThrow(`the TLS key ${pki.clientKey} does not match the certificate ${pki.serverCert}`);
    await expect(
      start({ hosts: ['tcp://127.0.0.1:0'], tls: { ...mutualTls(), certFile: join(dir, 'missing.pem') } }),
    ).rejects.toThrow(/could not read the TLS certificate .*missing\.pem/);
    await expect(
      start({ hosts: ['tcp://127.0.0.1:0'], tls: { ...mutualTls(), caFile: pki.serverKey } }),
    ).rejects.toThrow(/holds no certificate/);
  });

  it('refuses a foreign Host on an unauthenticated loopback listener (DNS rebinding)', async () => {
    const server = await start({ hosts: ['tcp://127.0.0.1:0'], allowInsecureTcp: true });
    const port = portOf(server);
    const get = (host: string) =>
      new Promise<{ status: number; body: string; contentType?: string }>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/_ping', headers: { Host: host } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => {
              body += d.toString();
            });
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    const foreign = await get(`evil.example:${port}`);
    expect(foreign).toMatchObject({ status: 403, contentType: 'application/json' });
    expect(JSON.parse(foreign.body).message).toMatch(/evil\.example/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, '[::1]', 'api.moby.localhost']) {
      expect((await get(host)).status, host).toBe(200);
    }
    // With client certificates, any Host will do (a tunnel may forward a real name).
    const tls = await start({ hosts: ['tcp://127.0.0.1:0'], tls: mutualTls() });
    const client = { cert: pki.clientCert, key: pki.clientKey };
    expect(await tlsGet(portOf(tls), '/_ping', client, { Host: 'docker.internal:2376' })).toMatchObject({
      status: 200,
    });
  });
});

describe('requests Node itself refuses', () => {
  let path: string;

  beforeEach(async () => {
    path = join(dir, 'raw.sock');
    await start({ hosts: [`unix://${path}`] });
  });

  async function rawExchange(bytes: string): Promise<string> {
    const socket = connect(path);
    let out = '';
    socket.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    // Like a client that sent everything: the server answers, then closes.
    socket.end(bytes);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    return out;
  }

  function parse(raw: string): { status: number; contentType?: string; message: string } {
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    const status = Number(head.split(' ')[1]);
    const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1];
    return { status, contentType, message: (JSON.parse(body) as { message: string }).message };
  }

  it('answers invalid chunked encoding in Docker error JSON', async () => {
    const raw = await rawExchange(
      'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    );
    expect(parse(raw)).toMatchObject({ status: 400, contentType: 'application/json' });
    expect(parse(raw).message).toMatch(/malformed HTTP request/);
  });

  it('answers an unknown method and a broken request line in Docker error JSON', async () => {
    expect(parse(await rawExchange('FROB /_ping HTTP/1.1\r\nHost: x\r\n\r\n'))).toMatchObject({
      status: 400,
      contentType: 'application/json',
    });
    expect(parse(await rawExchange('GET /_ping HTTP/9.x\r\n\r\n'))).toMatchObject({ status: 400 });
  });

  it('answers oversized headers with 431 in Docker error JSON', async () => {
    const raw = await rawExchange(`GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(parse(raw)).toMatchObject({ status: 431, contentType: 'application/json' });
  });
});
