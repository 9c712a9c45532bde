/**
 * Issue 5, API and daemon half, end to end against the real daemon: the unix socket is 0660 from
 * the moment it exists, tcp:// is refused without TLS, mutual TLS works with the real docker CLI
 * (and refuses clients without a certificate from the configured CA), and the data root and
 * per-container state are out of reach of other users.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../packages/api/test/tls-certs.js';
import { buildBusyboxTar } from '../helpers/busybox-image.js';
import { CLI_BIN, type DaemonHandle, startDaemon } from '../helpers/daemon.js';
import { isolatedNetworkNames, removeNetworkLeftovers } from '../helpers/network-names.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function daemon(opts: Parameters<typeof startDaemon>[0] = {}): Promise<DaemonHandle> {
  const d = await startDaemon(opts);
  cleanups.push(async () => {
    const left = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (left.length) d.docker(['rm', '-f', ...left]);
    await d.stop();
  });
  return d;
}

/** The addresses the daemon logged as listening (pino JSON lines). */
function listeningAddresses(d: DaemonHandle): string[] {
  return d
    .logs()
    .split('\n')
    .filter((line) => line.includes('"API listening"'))
    .map((line) => (JSON.parse(line) as { address: string }).address);
}

function tcpPort(d: DaemonHandle): number {
  const tcp = listeningAddresses(d).find((a) => a.startsWith('tcp://'));
  if (!tcp) throw new Error(`the daemon logged no tcp address:\n${d.logs()}`);
  return Number(tcp.split(':').at(-1));
}

/** docker's gid on this machine, if the group exists (the daemon's default socket group). */
function dockerGid(): number | undefined {
  const line = spawnSync('getent', ['group', 'docker'], { encoding: 'utf8' }).stdout.trim();
  return line ? Number(line.split(':')[2]) : undefined;
}

/** Runs `cmd` as nobody (uid/gid 65534, no supplementary groups); returns its output. */
function asNobody(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 30_000 });
}

describe('the unix socket', () => {
  it('is 0660 root:docker from the moment it exists (watched from another process)', async () => {
    const dir = tempDir('tsd-sock-');
    chmodSync(dir, 0o755);
    const watched = join(dir, 'watched.sock');
    // A separate process spins on lstat until the socket appears and reports what it saw first.
    const watcher: ChildProcess = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); process.stdout.write('ready\\n');
         const end = Date.now() + 120000;
         while (Date.now() < end) { try { const s = fs.lstatSync(process.argv[1]);
           process.stdout.write(JSON.stringify({ mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, socket: s.isSocket() }) + '\\n');
           process.exit(0); } catch {} }
         process.exit(3);`,
        watched,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(() => {
      watcher.kill('SIGKILL');
    });
    let out = '';
    watcher.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const firstSeen = new Promise<string>((resolve, reject) => {
      watcher.on('close', (code) =>
        code === 0 ? resolve(out.split('\n')[1] ?? '') : reject(new Error(`watcher exited ${code}`)),
      );
    });
    // Spinning before the daemon starts.
    await new Promise<void>((resolve) => watcher.stdout?.once('data', () => resolve()));

    const d = await daemon({ extraHosts: [`unix://${watched}`] });
    const seen = JSON.parse(await firstSeen) as { mode: number; uid: number; gid: number; socket: boolean };
    expect(seen.socket).toBe(true);
    expect(seen.mode.toString(8)).toBe('660');
    expect(seen.uid).toBe(0);
    expect(seen.gid).toBe(dockerGid() ?? 0);
    // The daemon's own socket is the same, and nobody outside the group gets in.
    expect((statSync(d.socket).mode & 0o777).toString(8)).toBe('660');
    const probe = asNobody(process.execPath, [
      '-e',
      `require('net').connect(${JSON.stringify(watched)}).on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(0) })`,
    ]);
    expect(probe.stdout.trim()).toBe('EACCES');
    // Both sockets answer the docker CLI as root.
    expect(
      d.docker(['-H', `unix://${watched}`, 'version', '--format', '{{.Server.APIVersion}}']).stdout,
    ).toBe('1.50\n');
  });
});

describe('tcp://', () => {
  /** Starts a daemon that is expected to refuse to start, on network names of its own. */
  function runDaemonOnce(config: Record<string, unknown>, flags: string[] = []) {
    const dir = tempDir('tsd-tcp-');
    const file = join(dir, 'daemon.json');
    const network = isolatedNetworkNames();
    cleanups.push(() => removeNetworkLeftovers(network));
    writeFileSync(
      file,
      JSON.stringify({
        'data-root': join(dir, 'data'),
        'exec-root': join(dir, 'exec'),
        'storage-driver': 'vfs',
        hosts: [`unix://${join(dir, 's.sock')}`, 'tcp://127.0.0.1:0'],
        ...network.config,
        ...config,
      }),
    );
    return spawnSync(process.execPath, [CLI_BIN, 'daemon', '--config-file', file, ...flags], {
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  it('is refused without TLS unless plain text is asked for explicitly', () => {
    const r = runDaemonOnce({});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/refusing to listen on tcp:\/\/127\.0\.0\.1:0 without TLS/);
    // TLS that would accept any client is refused too.
    const pki = makeTestPki(tempDir('tsd-pki-'));
    const tlsOnly = runDaemonOnce({ tls: true, tlscert: pki.serverCert, tlskey: pki.serverKey });
    expect(tlsOnly.status).toBe(1);
    expect(tlsOnly.stderr).toMatch(/without client certificate verification/);
  });

  it("takes dockerd's TLS flags on the command line", () => {
    const bad = runDaemonOnce({}, ['--tls=maybe']);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/invalid argument "maybe" for "--tls" flag/);
    // --tlsverify with a CA file that does not exist: the start fails naming it.
    const dir = tempDir('tsd-flags-');
    const missing = runDaemonOnce({}, [
      '--tlsverify',
      '--tlscacert',
      join(dir, 'nope-ca.pem'),
      '--tlscert',
      join(dir, 'nope-cert.pem'),
      '--tlskey',
      join(dir, 'nope-key.pem'),
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/could not read the TLS certificate .*nope-cert\.pem/);
  });

  it('listens in plain text with --tls=false, with loud warnings', async () => {
    const d = await daemon({ extraHosts: ['tcp://127.0.0.1:0'], config: { tls: false } });
    expect(d.logs()).toMatch(/without --tlsverify is insecure/);
    expect(d.logs()).toMatch(/PLAIN TEXT/);
    const res = await fetch(`http://127.0.0.1:${tcpPort(d)}/_ping`);
    expect(await res.text()).toBe('OK');
  });

  it('serves the real docker CLI over mutual TLS, and refuses clients without a CA-signed cert', async () => {
    const pki = makeTestPki(tempDir('tsd-pki-'));
    const d = await daemon({
      extraHosts: ['tcp://127.0.0.1:0'],
      config: { tlsverify: true, tlscacert: pki.caCert, tlscert: pki.serverCert, tlskey: pki.serverKey },
    });
    const host = `tcp://127.0.0.1:${tcpPort(d)}`;
    const cli = (args: string[]) => d.docker(['-H', host, ...args], { env: { DOCKER_HOST: '' } });
    const withCert = (cert: string, key: string) => [
      '--tlsverify',
      '--tlscacert',
      pki.caCert,
      '--tlscert',
      cert,
      '--tlskey',
      key,
    ];

    const version = cli([...withCert(pki.clientCert, pki.clientKey), 'version']);
    expect(version.stderr).toBe('');
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/Server:[\s\S]*API version:\s+1\.50/);
    // Real commands over TLS, hijacked streams included (run attaches, exec starts).
    const tar = await buildBusyboxTar(d.dir);
    expect(d.docker(['import', tar, 'tlsbox']).status).toBe(0);
    const run = cli([
      ...withCert(pki.clientCert, pki.clientKey),
      'run',
      '--rm',
      'tlsbox',
      'echo',
      'over tls',
    ]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('over tls\n');
    const piped = cli([...withCert(pki.clientCert, pki.clientKey), 'run', '--rm', '-i', 'tlsbox', 'cat']);
    expect(piped.stdout).toBe('');
    expect(piped.status).toBe(0);
    const withInput = d.docker(
      ['-H', host, ...withCert(pki.clientCert, pki.clientKey), 'run', '--rm', '-i', 'tlsbox', 'wc', '-c'],
      { input: 'twelve bytes', env: { DOCKER_HOST: '' } },
    );
    expect(withInput.stdout.trim()).toBe('12');
    expect(cli([...withCert(pki.clientCert, pki.clientKey), 'ps', '-a', '-q']).stdout).toBe('');

    const intruder = cli([...withCert(pki.otherClientCert, pki.otherClientKey), 'version']);
    expect(intruder.status).not.toBe(0);
    expect(intruder.stderr).toMatch(/certificate|tls/i);

    const anonymous = cli(['--tls', '--tlscacert', pki.caCert, 'version']);
    expect(anonymous.status).not.toBe(0);
    expect(anonymous.stderr).toMatch(/certificate|tls/i);

    const plain = await fetch(`http://127.0.0.1:${tcpPort(d)}/_ping`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).toBe('refused');
  });
});

describe('uploads', () => {
  /** Sends a head promising a large body and a few bytes of it, then vanishes at once. */
  function abandonUpload(socket: string, path: string): Promise<void> {
    return new Promise((resolve) => {
      const conn = connect(socket);
      conn.on('error', () => resolve());
      conn.on('connect', () => {
        conn.write(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: 100000\r\n\r\n{"not":"a tar"}`,
        );
        setImmediate(() => {
          conn.destroy();
          resolve();
        });
      });
    });
  }

  it('survives clients that hang up half-way through an upload (import, load)', async () => {
    // Found by the fuzz test: the hang-up surfaced as an unhandled 'error' and killed the daemon.
    const d = await daemon();
    const pid = d.process.pid;
    for (const path of ['/v1.50/images/create?fromSrc=-&repo=broken', '/v1.50/images/load?quiet=1']) {
      for (let i = 0; i < 5; i++) {
        await abandonUpload(d.socket, path);
        // The daemon has seen the hang-up by the time it answers the next request.
        expect(d.docker(['version', '--format', '{{.Server.APIVersion}}']).stdout, path).toBe('1.50\n');
      }
      expect(d.process.exitCode).toBeNull();
      expect(d.process.pid).toBe(pid);
    }
    // Nothing came of the broken uploads.
    expect(d.docker(['images', '-q']).stdout).toBe('');
  });
});

describe('data root permissions', () => {
  it('keeps the data root, container state and layers out of reach of other users', async () => {
    // A data root that already exists with a lax mode is tightened at start, as dockerd does.
    const dir = tempDir('tsd-perm-');
    chmodSync(dir, 0o755);
    const dataRoot = join(dir, 'data');
    mkdirSync(dataRoot, { mode: 0o755 });
    chmodSync(dataRoot, 0o755);
    const d = await daemon({ config: { 'data-root': dataRoot } });
    const tar = await buildBusyboxTar(d.dir);
    expect(d.docker(['import', tar, 'permbox']).status).toBe(0);
    const run = d.docker(['run', '-d', 'permbox', 'sleep', '1000']);
    expect(run.stderr).toBe('');
    const id = run.stdout.trim();

    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    expect(mode(dataRoot)).toBe('710');
    expect(mode(join(dataRoot, 'containers'))).toBe('710');
    expect(mode(join(dataRoot, 'containers', id))).toBe('700');
    expect(mode(join(dataRoot, 'image'))).toBe('700');
    expect(mode(d.execRoot)).toBe('700');
    for (const name of readdirSync(dataRoot)) {
      // Nothing directly under the root is open to others.
      expect(statSync(join(dataRoot, name)).mode & 0o007, name).toBe(0);
    }

    // As an unprivileged user: nothing under the data root can be listed or read.
    for (const path of [
      dataRoot,
      join(dataRoot, 'containers'),
      join(dataRoot, 'containers', id),
      join(dataRoot, 'vfs', 'dir'),
    ]) {
      const ls = asNobody('ls', [path]);
      expect(ls.status, path).not.toBe(0);
      expect(ls.stderr, path).toMatch(/Permission denied/);
    }
    const cat = asNobody('cat', [join(dataRoot, 'containers', id, 'config.v2.json')]);
    expect(cat.stderr).toMatch(/Permission denied/);
    expect(existsSync(join(dataRoot, 'containers', id, 'config.v2.json'))).toBe(true);

    expect(d.docker(['rm', '-f', id]).status).toBe(0);
  });
});
