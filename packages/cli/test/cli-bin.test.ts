/**
 * Runs the built `dist/bin.js` against a fake Engine API on a temporary unix socket and checks
 * what a user sees (output, exit codes) and what the daemon receives (docker's request flow).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeEngine, IMPORTED_ID, type RecordedRequest, startFakeEngine } from './fake-engine.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
const CREATED_AT = Math.floor(Date.now() / 1000) - 5 * 3600;

const SLEEPER_ID = 'e2e6e1570368aa6c8d3e4e5b9d0f2b71f6a8c3d2e1f0a9b8c7d6e5f4a3b2c1d0';
const DONE_ID = '7d2f1b0c9a8e7f6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b3a2918070605';

let dir: string;
let engine: FakeEngine;
/** A second engine holding only known containers, for exact `ps` tables. */
let listEngine: FakeEngine;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tsdocker(
  args: string[],
  options: { stdin?: string | Buffer; host?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.DOCKER_HOST;
    delete env.TSDOCKER_HOST;
    delete env.DOCKER_API_VERSION;
    const child = spawn(
      process.execPath,
      [BIN, '-H', options.host ?? `unix://${engine.socketPath}`, ...args],
      {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.end(options.stdin);
  });
}

/** The requests one CLI run made (every run starts with its ping). */
function lastRun(): RecordedRequest[] {
  const start = engine.requests.map((r) => r.url).lastIndexOf('/_ping');
  return engine.requests.slice(start);
}

const pathOf = (r: RecordedRequest) => `${r.method} ${r.url.replace(/[0-9a-f]{64}/g, '<id>')}`;

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build @tsdocker/cli first (pnpm build)`);
  dir = await mkdtemp(join(tmpdir(), 'tsdocker-cli-'));
  engine = await startFakeEngine(join(dir, 'engine.sock'), { createdAt: CREATED_AT });
  engine.seed({ id: SLEEPER_ID, name: 'sleeper', cmd: ['sleep', '1000'], state: 'running' });
  listEngine = await startFakeEngine(join(dir, 'list.sock'), { createdAt: CREATED_AT });
  listEngine.seed({ id: SLEEPER_ID, name: 'web', cmd: ['sleep', '1000'], state: 'running' });
  listEngine.seed({ id: DONE_ID, name: 'done', cmd: ['echo', 'ok'], state: 'exited' });
});

afterAll(async () => {
  await engine?.close();
  await listEngine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tsdocker run', () => {
  it('--rm: create → attach → wait(removed) → start, prints the output, exits 0', async () => {
    const result = await tsdocker(['run', '--rm', 'busybox', 'echo', 'hello', 'world']);
    expect(result).toEqual({ code: 0, stdout: 'hello world\n', stderr: '' });
    const flow = lastRun();
    expect(flow.map(pathOf)).toEqual([
      'HEAD /_ping',
      'POST /v1.50/containers/create',
      'POST /v1.50/containers/<id>/attach?stderr=1&stdout=1&stream=1',
      'POST /v1.50/containers/<id>/wait?condition=removed',
      'POST /v1.50/containers/<id>/start',
    ]);
    const create = JSON.parse((flow[1] as RecordedRequest).body.toString('utf8'));
    expect(create).toMatchObject({
      Image: 'busybox',
      Cmd: ['echo', 'hello', 'world'],
      HostConfig: { AutoRemove: true },
    });
    expect(flow[1]?.headers['content-type']).toBe('application/json');
    expect(flow[2]).toMatchObject({ upgrade: true, headers: { upgrade: 'tcp', connection: 'Upgrade' } });
    // No -i: the CLI half-closes the attach right after the 101.
    const id = /containers\/([0-9a-f]{64})\//.exec(flow[2]?.url ?? '')?.[1] as string;
    expect(engine.halfClosedAttaches.has(id)).toBe(true);
    expect(engine.containers.has(id)).toBe(false);
  });

  it("returns the container's exit code and routes its stderr", async () => {
    const result = await tsdocker(['run', '--rm', 'busybox', 'fail', '3']);
    expect(result).toEqual({ code: 3, stdout: '', stderr: 'failing\n' });
    expect(lastRun().map(pathOf)).toContain('POST /v1.50/containers/<id>/wait?condition=removed');
  });

  it('-i streams stdin (sent before start is kept) and half-closes at its end', async () => {
    const result = await tsdocker(['run', '-i', '--rm', 'busybox', 'cat'], { stdin: 'line1\nline2\n' });
    expect(result).toEqual({ code: 0, stdout: 'line1\nline2\n', stderr: '' });
    const attach = lastRun().find((r) => r.upgrade);
    expect(attach?.url).toMatch(/\/attach\?stderr=1&stdin=1&stdout=1&stream=1$/);
    const create = JSON.parse((lastRun()[1] as RecordedRequest).body.toString('utf8'));
    expect(create).toMatchObject({ AttachStdin: true, OpenStdin: true, StdinOnce: true, Tty: false });
  });

  it('waits for next-exit without --rm and maps flags into the create body', async () => {
    const result = await tsdocker([
      'run',
      '--name',
      'flags',
      '-m',
      '64m',
      '--cpus',
      '0.5',
      '-e',
      'A=1',
      'busybox',
      'echo',
      'ok',
    ]);
    expect(result.code).toBe(0);
    const flow = lastRun();
    expect(flow.map(pathOf)).toContain('POST /v1.50/containers/create?name=flags');
    expect(flow.map(pathOf)).toContain('POST /v1.50/containers/<id>/wait?condition=next-exit');
    const create = JSON.parse((flow[1] as RecordedRequest).body.toString('utf8'));
    expect(create).toMatchObject({
      Env: ['A=1'],
      HostConfig: { Memory: 64 * 1024 * 1024, NanoCpus: 500_000_000 },
    });
  });

  it('exits 127 when the command cannot be found, with docker\'s "tsdocker:" message', async () => {
    const result = await tsdocker(['run', '--rm', 'busybox', 'nosuchcmd']);
    expect(result.code).toBe(127);
    expect(result.stderr).toBe(
      'tsdocker: Error response from daemon: failed to create task for container: exec: "nosuchcmd": executable file not found in $PATH: unknown\n',
    );
  });

  it('tries to pull a missing image, then fails with exit 125', async () => {
    const result = await tsdocker(['run', 'missing']);
    expect(result.code).toBe(125);
    expect(result.stderr).toBe(
      [
        "Unable to find image 'missing:latest' locally",
        "tsdocker: Error response from daemon: pull access denied for docker.io/library/missing, repository does not exist or may require 'docker login'",
        '',
        "Run 'tsdocker run --help' for more information",
        '',
      ].join('\n'),
    );
    const pull = lastRun().find((r) => r.url.includes('fromImage'));
    expect(pull?.url).toBe('/v1.50/images/create?fromImage=docker.io%2Flibrary%2Fmissing&tag=latest');
    expect(pull?.headers['x-registry-auth']).toBe('e30=');
  });

  it('-d prints the full ID and does not attach', async () => {
    const result = await tsdocker(['run', '-d', '--name', 'detached', 'busybox', 'sleep', '1000']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const paths = lastRun().map(pathOf);
    expect(paths.some((p) => p.includes('/attach'))).toBe(false);
    expect(paths.slice(-2)).toEqual([
      'POST /v1.50/containers/<id>/wait?condition=next-exit',
      'POST /v1.50/containers/<id>/start',
    ]);
  });

  it('refuses a bad --memory value before contacting the daemon (exit 125)', async () => {
    const before = engine.requests.length;
    const result = await tsdocker(['run', '-m', '1x', 'busybox']);
    expect(result.code).toBe(125);
    expect(result.stderr).toBe(
      `tsdocker: invalid argument "1x" for "-m, --memory" flag: invalid suffix: 'x'\n\nRun 'tsdocker run --help' for more information\n`,
    );
    expect(engine.requests.length).toBe(before);
  });
});

describe('tsdocker ps / images', () => {
  it("ps -a prints docker's table", async () => {
    const result = await tsdocker(['ps', '-a'], { host: `unix://${listEngine.socketPath}` });
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'CONTAINER ID   IMAGE     COMMAND        CREATED       STATUS                   PORTS     NAMES',
        'e2e6e1570368   busybox   "sleep 1000"   5 hours ago   Up 5 hours                         web',
        '7d2f1b0c9a8e   busybox   "echo ok"      5 hours ago   Exited (0) 4 hours ago             done',
        '',
      ].join('\n'),
    });
    expect(listEngine.requests.map(pathOf)).toEqual(['HEAD /_ping', 'GET /v1.50/containers/json?all=1']);
  });

  it('ps -q lists short IDs of running containers, --no-trunc full ones', async () => {
    const host = `unix://${listEngine.socketPath}`;
    expect(await tsdocker(['ps', '-q'], { host })).toEqual({ code: 0, stdout: 'e2e6e1570368\n', stderr: '' });
    expect(await tsdocker(['ps', '-aq', '--no-trunc'], { host })).toEqual({
      code: 0,
      stdout: `${SLEEPER_ID}\n${DONE_ID}\n`,
      stderr: '',
    });
    expect(listEngine.requests.map(pathOf).slice(-4)).toEqual([
      'HEAD /_ping',
      'GET /v1.50/containers/json',
      'HEAD /_ping',
      'GET /v1.50/containers/json?all=1',
    ]);
  });

  it("images prints docker's table", async () => {
    const result = await tsdocker(['images']);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'REPOSITORY   TAG       IMAGE ID       CREATED       SIZE',
        'busybox      latest    3f57d9401f8d   5 hours ago   4.26MB',
        'myimp        1         0123456789ab   5 hours ago   77.8MB',
        '',
      ].join('\n'),
    });
  });
});

describe('tsdocker import', () => {
  it('sends fromSrc=- with the stdin body, changes and message, and prints the new ID', async () => {
    const tarball = Buffer.concat([Buffer.from('fake tar header'), Buffer.alloc(4096, 7)]);
    const result = await tsdocker(['import', '-c', 'CMD ["sh"]', '-m', 'from stdin', '-', 'myimp:1'], {
      stdin: tarball,
    });
    expect(result).toEqual({ code: 0, stdout: `${IMPORTED_ID}\n`, stderr: '' });
    const request = lastRun().at(-1) as RecordedRequest;
    expect(request.method).toBe('POST');
    expect(request.url).toBe(
      '/v1.50/images/create?changes=CMD+%5B%22sh%22%5D&fromSrc=-&message=from+stdin&repo=myimp%3A1',
    );
    expect(request.headers['content-type']).toBe('text/plain');
    expect(request.headers['transfer-encoding']).toBe('chunked');
    expect(request.body.equals(tarball)).toBe(true);
  });

  it('uploads a file', async () => {
    const file = join(dir, 'rootfs.tar');
    await writeFile(file, Buffer.alloc(10_000, 1));
    const result = await tsdocker(['import', file]);
    expect(result.code).toBe(0);
    const request = lastRun().at(-1) as RecordedRequest;
    expect(request.url).toBe('/v1.50/images/create?fromSrc=-');
    expect(request.body.length).toBe(10_000);
  });

  it('reports a missing file', async () => {
    const result = await tsdocker(['import', join(dir, 'nope.tar')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`open ${join(dir, 'nope.tar')}: no such file or directory\n`);
  });
});

describe('other commands', () => {
  it('exec streams the output and exits with the exec exit code', async () => {
    expect(await tsdocker(['exec', 'sleeper', 'echo', 'in', 'container'])).toEqual({
      code: 0,
      stdout: 'in container\n',
      stderr: '',
    });
    const failed = await tsdocker(['exec', 'sleeper', 'fail', '4']);
    expect(failed).toEqual({ code: 4, stdout: '', stderr: 'failing\n' });
    expect(lastRun().map(pathOf)).toEqual([
      'HEAD /_ping',
      'GET /v1.50/containers/sleeper/json',
      'POST /v1.50/containers/sleeper/exec',
      'POST /v1.50/exec/<id>/start',
      'GET /v1.50/exec/<id>/json',
    ]);
    expect(JSON.parse(lastRun()[3]?.body.toString('utf8') ?? '')).toEqual({ Detach: false, Tty: false });
  });

  it('start prints names; start -a attaches, waits and returns the exit code; wait prints it', async () => {
    engine.seed({ id: 'a'.repeat(64), name: 'later', cmd: ['fail', '5'], state: 'created' });
    const attached = await tsdocker(['start', '-a', 'later']);
    expect(attached).toEqual({ code: 5, stdout: '', stderr: 'failing\n' });
    expect(lastRun().map(pathOf)).toEqual([
      'HEAD /_ping',
      'GET /v1.50/containers/later/json',
      'POST /v1.50/containers/<id>/attach?stderr=1&stdout=1&stream=1',
      'POST /v1.50/containers/<id>/wait?condition=next-exit',
      'POST /v1.50/containers/<id>/start',
    ]);
    expect(await tsdocker(['wait', 'later'])).toEqual({ code: 0, stdout: '5\n', stderr: '' });
    expect(lastRun().map(pathOf)[1]).toBe('POST /v1.50/containers/later/wait');
    engine.seed({ id: 'b'.repeat(64), name: 'again', cmd: ['sleep', '1'], state: 'created' });
    expect(await tsdocker(['start', 'again', 'ghost'])).toEqual({
      code: 1,
      stdout: 'again\n',
      stderr:
        'Error response from daemon: No such container: ghost\nError: failed to start containers: ghost\n',
    });
  });

  it('logs demultiplexes stdout and stderr', async () => {
    expect(await tsdocker(['logs', '--tail', '5', 'sleeper'])).toEqual({
      code: 0,
      stdout: 'log line 1\n',
      stderr: 'log error\n',
    });
    expect(lastRun().map(pathOf)[2]).toBe('GET /v1.50/containers/<id>/logs?stderr=1&stdout=1&tail=5');
  });

  it('inspect -f evaluates a template; unknown names fail after probing every type', async () => {
    expect(await tsdocker(['inspect', '-f', '{{.State.Status}} {{.Name}}', 'sleeper'])).toEqual({
      code: 0,
      stdout: 'running /sleeper\n',
      stderr: '',
    });
    const missing = await tsdocker(['inspect', 'ghost']);
    expect(missing).toEqual({ code: 1, stdout: '[]\n', stderr: 'Error: No such object: ghost\n' });
  });

  it('stop/kill print the names; rm -f tolerates a missing container, rm does not', async () => {
    expect(await tsdocker(['stop', '-t', '3', 'sleeper'])).toEqual({
      code: 0,
      stdout: 'sleeper\n',
      stderr: '',
    });
    expect(lastRun().map(pathOf)[1]).toBe('POST /v1.50/containers/sleeper/stop?t=3');
    expect(await tsdocker(['kill', '-s', 'HUP', 'sleeper'])).toEqual({
      code: 0,
      stdout: 'sleeper\n',
      stderr: '',
    });
    expect(await tsdocker(['rm', '-f', 'ghost'])).toEqual({
      code: 0,
      stdout: '',
      stderr: 'Error response from daemon: No such container: ghost\n',
    });
    expect(await tsdocker(['rm', 'ghost'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error response from daemon: No such container: ghost\n',
    });
  });

  it('says when no daemon listens', async () => {
    const socket = join(dir, 'nobody.sock');
    const result = await tsdocker(['ps'], { host: `unix://${socket}` });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `Cannot connect to the tsdocker daemon at unix://${socket}. Is the tsdocker daemon running?\n`,
    });
  });

  it('reports unknown flags like docker (exit 125)', async () => {
    const result = await tsdocker(['ps', '--bogus']);
    expect(result.code).toBe(125);
    expect(result.stderr).toBe(
      "tsdocker: unknown option '--bogus'\n\nRun 'tsdocker ps --help' for more information\n",
    );
  });
});
