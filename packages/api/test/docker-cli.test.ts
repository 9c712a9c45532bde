/**
 * The real docker CLI (28.2.2) against the API served from the fake daemon.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliResult, docker, startTestServer, type TestServer } from './helpers.js';

const haveDocker = ['/usr/local/bin/docker', '/usr/bin/docker'].some((path) => existsSync(path));

let t: TestServer;
let configDir: string;

beforeEach(async () => {
  t = await startTestServer();
  configDir = await mkdtemp(join(tmpdir(), 'tsdocker-cli-config-'));
});

afterEach(async () => {
  try {
    await t.close();
  } finally {
    await rm(configDir, { recursive: true, force: true });
  }
});

const run = (args: string[], input?: string): Promise<CliResult> =>
  docker(t.socketPath, configDir, args, input);

describe.skipIf(!haveDocker)('docker CLI against the fake daemon', () => {
  it('docker version shows the engine block at API 1.50', async () => {
    const result = await run(['version']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Server: tsdocker \(fake\)/);
    expect(result.stdout).toMatch(
      /Engine:\s+Version:\s+0\.0\.0-fake\s+API version:\s+1\.50 \(minimum version 1\.24\)/,
    );
  });

  it('docker info prints the server section without errors', async () => {
    const result = await run(['info']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Server Version: 0\.0\.0-fake/);
    expect(result.stdout).toMatch(/Operating System: Fake OS/);
    expect(result.stderr).not.toMatch(/ERROR/);
  });

  it("docker run --rm prints the output and exits with the container's code", async () => {
    const hello = await run(['run', '--rm', 'img', 'echo', 'hello']);
    expect(hello, hello.stderr).toMatchObject({ code: 0, stdout: 'hello\n' });

    const seven = await run(['run', '--rm', 'img', 'sh', '-c', 'exit 7']);
    expect(seven.code, seven.stderr).toBe(7);
    // --rm: the fake removed it, and the CLI waited for that.
    expect(t.daemon.containerMap.size).toBe(0);
  });

  it('docker run -i passes stdin and half-closes', async () => {
    const result = await run(['run', '-i', '--rm', 'img', 'cat'], 'line1\nline2\n');
    expect(result, result.stderr).toMatchObject({ code: 0, stdout: 'line1\nline2\n' });
  });

  it('docker run of a missing image explains that pulling is not supported, exit 125', async () => {
    const result = await run(['run', '--rm', 'unknownimage']);
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/Unable to find image 'unknownimage:latest' locally/);
    expect(result.stderr).toMatch(/pulling from registries is not supported by tsdocker yet/);
  });

  it('docker run with a missing executable exits 127', async () => {
    const result = await run(['run', '--rm', 'img', 'nosuchcommand']);
    expect(result.code).toBe(127);
    expect(result.stderr).toMatch(/executable file not found/);
  });

  it('docker ps -a lists containers with their names', async () => {
    await run(['create', '--name', 'listed', 'img', 'echo', 'x']);
    const result = await run(['ps', '-a']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/CONTAINER ID\s+IMAGE\s+COMMAND/);
    expect(result.stdout).toMatch(/img\s+"echo x".*Created\s+listed/);
  });

  it('docker inspect of an unknown name probes every object type and fails cleanly', async () => {
    const result = await run(['inspect', 'nosuch']);
    expect(result.code).toBe(1);
    expect(result.stdout.trim()).toBe('[]');
    expect(result.stderr.trim()).toBe('Error: No such object: nosuch');
  });

  it('docker logs shows what the container printed', async () => {
    const created = await run(['run', '--name', 'talker', 'img', 'sh', '-c', 'echo out; echo err >&2']);
    expect(created.code, created.stderr).toBe(0);
    const logs = await run(['logs', 'talker']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('out\n');
    expect(logs.stderr).toBe('err\n');
  });

  it("docker exec returns the exec's exit code", async () => {
    const started = await run(['run', '-d', '--name', 'box', 'img', 'sleep', 'infinity']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);

    const hi = await run(['exec', 'box', 'echo', 'hi']);
    expect(hi).toMatchObject({ code: 0, stdout: 'hi\n' });
    const three = await run(['exec', 'box', 'sh', '-c', 'exit 3']);
    expect(three.code).toBe(3);

    const removed = await run(['rm', '-f', 'box']);
    expect(removed).toMatchObject({ code: 0, stdout: 'box\n' });
  });

  it('docker stop/start/kill/rm report names and map statuses', async () => {
    await run(['run', '-d', '--name', 'svc', 'img', 'sleep', 'infinity']);
    expect(await run(['start', 'svc'])).toMatchObject({ code: 0, stdout: 'svc\n' });
    expect(await run(['kill', 'svc'])).toMatchObject({ code: 0, stdout: 'svc\n' });
    // `docker wait` blocks until it has stopped, then prints the exit code.
    expect(await run(['wait', 'svc'])).toMatchObject({ code: 0, stdout: '137\n' });
    const killAgain = await run(['kill', 'svc']);
    expect(killAgain.code).toBe(1);
    expect(killAgain.stderr).toMatch(/cannot kill container: svc: container [0-9a-f]{64} is not running/);
    expect(await run(['rm', 'svc'])).toMatchObject({ code: 0, stdout: 'svc\n' });
    const rmMissing = await run(['rm', '-f', 'svc']);
    // rm -f on a missing container prints the 404 but succeeds.
    expect(rmMissing.code).toBe(0);
  });

  it('docker image commands route names with slashes and tags', async () => {
    const tagged = await run(['tag', 'img', 'myrepo/copy:v2']);
    expect(tagged.code, tagged.stderr).toBe(0);
    const inspect = await run(['image', 'inspect', '--format', '{{.Os}}', 'myrepo/copy:v2']);
    expect(inspect).toMatchObject({ code: 0, stdout: 'linux\n' });
    const images = await run(['images']);
    expect(images.stdout).toMatch(/myrepo\/copy\s+v2/);
    const rmi = await run(['rmi', 'myrepo/copy:v2']);
    expect(rmi).toMatchObject({ code: 0, stdout: 'Untagged: myrepo/copy:v2\n' });
  });

  it('docker import streams the archive', async () => {
    const result = await run(['import', '-', 'imported:1'], 'not really a tar, the fake only hashes it');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
