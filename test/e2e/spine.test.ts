/**
 * Issue 2's acceptance, end to end: the stock docker CLI against a real tsdocker daemon (real
 * namespaces, cgroups and layers, as root).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxTar } from '../helpers/busybox-image.js';
import { type DaemonHandle, startDaemon } from '../helpers/daemon.js';

let d: DaemonHandle;

beforeAll(async () => {
  d = await startDaemon();
  const tar = await buildBusyboxTar(d.dir);
  const imported = d.docker(['import', '--change', 'CMD ["sh"]', tar, 'busybox:latest']);
  expect(imported.stderr).toBe('');
  expect(imported.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
});

afterAll(async () => {
  if (!d) return;
  // Containers a failed test left behind go first, by their ids.
  const left = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (left.length) d.docker(['rm', '-f', ...left]);
  await d.stop();
});

function ok(r: ReturnType<DaemonHandle['docker']>): string {
  if (r.status !== 0)
    throw new Error(`docker exited ${r.status}: ${r.stderr}\n--- daemon log ---\n${d.logs().slice(-4000)}`);
  return r.stdout;
}

describe('1. version, info, import, images', () => {
  it('docker version shows the server and its API version', () => {
    const out = ok(d.docker(['version']));
    expect(out).toContain('Server:');
    expect(out).toMatch(/API version:\s+1\.50/);
  });

  it('docker info reports our drivers without errors', () => {
    const r = d.docker(['info']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Storage Driver: vfs/);
    expect(r.stdout).toMatch(/Logging Driver: json-file/);
    expect(r.stderr).not.toMatch(/ERROR|error/);
  });

  it('docker images lists the imported busybox', () => {
    const out = ok(d.docker(['images']));
    expect(out).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE/);
    expect(out).toMatch(/\nbusybox\s+latest\s+[0-9a-f]{12}\s+/);
  });
});

describe('2. run --rm', () => {
  it('prints the output and leaves nothing behind', () => {
    const r = d.docker(['run', '--rm', 'busybox', 'echo', 'hello']);
    expect(r.stdout).toBe('hello\n');
    expect(r.status).toBe(0);
  });

  it('exits with the container exit code', () => {
    expect(d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'exit 7']).status).toBe(7);
  });

  it('ps -a is empty afterwards', () => {
    expect(ok(d.docker(['ps', '-aq']))).toBe('');
  });

  it('separates stdout and stderr', () => {
    const r = d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it("an unknown command exits 127 with Docker's message", () => {
    const r = d.docker(['run', '--rm', 'busybox', 'no-such-command']);
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('executable file not found');
    expect(ok(d.docker(['ps', '-aq']))).toBe('');
  });

  it('stdin piped into run -i reaches the process', () => {
    const r = d.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], {
      input: 'line1\nline2\n',
    });
    expect(r.stdout).toBe('line1\nline2\ndone\n');
  });
});

describe('3. a named, detached container', () => {
  let id = '';
  it('runs detached, shows in ps, logs and logs -f', () => {
    id = ok(
      d.docker([
        'run',
        '-d',
        '--name',
        'web',
        'busybox',
        'sh',
        '-c',
        'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done',
      ]),
    ).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ps = ok(d.docker(['ps']));
    expect(ps).toMatch(new RegExp(`${id.slice(0, 12)}\\s+busybox\\s+"sh -c .*"\\s+.*Up .*\\s+web\\n`));
    // Wait (bounded) until a few lines are logged.
    for (let i = 0; i < 50 && !/tick 2/.test(d.docker(['logs', 'web']).stdout); i++)
      spawnSync('sleep', ['0.1']);
    expect(ok(d.docker(['logs', 'web']))).toMatch(/^tick 0\ntick 1\ntick 2\n/);
    expect(ok(d.docker(['logs', '--tail', '1', 'web']))).toMatch(/^tick \d+\n$/);
    const follow = d.docker(['logs', '-f', 'web'], { timeoutMs: 1500 });
    expect(follow.stdout).toMatch(/tick 0\n[\s\S]*tick 3\n/);
  });

  it('exec hostname prints the first 12 hex of the id', () => {
    expect(ok(d.docker(['exec', 'web', 'hostname']))).toBe(`${id.slice(0, 12)}\n`);
    expect(d.docker(['exec', 'web', 'sh', '-c', 'exit 5']).status).toBe(5);
  });

  it('stop -t 2 stops it, rm removes it', () => {
    expect(ok(d.docker(['stop', '-t', '2', 'web']))).toBe('web\n');
    expect(ok(d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'web']))).toBe(
      'exited 137\n',
    );
    expect(ok(d.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']))).toMatch(/^web Exited \(137\) /);
    expect(ok(d.docker(['rm', 'web']))).toBe('web\n');
    expect(ok(d.docker(['ps', '-aq']))).toBe('');
  });
});

describe('4. run -it under a pseudo-terminal', () => {
  it('gets a TTY, its output, and stdin reaches the process', () => {
    // `script` gives the docker CLI a real terminal; our input is typed into it.
    const r = spawnSync(
      'script',
      ['-qec', 'docker run -it --rm busybox sh -c "tty; read x; echo got:\\$x; exit 3"', '/dev/null'],
      {
        env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') },
        input: 'hello-tty\n',
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.stdout).toMatch(/\/dev\/pts\/0\r\n/);
    expect(r.stdout).toContain('got:hello-tty');
    expect(r.status).toBe(3);
  });
});

describe('5. inside a container', () => {
  it('the command is PID 1 and only its processes are visible', () => {
    const out = ok(
      d.docker([
        'run',
        '--rm',
        'busybox',
        'sh',
        '-c',
        'echo $$; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "',
      ]),
    );
    const [pid, procs] = out.split('\n');
    expect(pid).toBe('1');
    // sh (1), ls, grep, sort, tr: only this pipeline's processes.
    expect(procs!.trim().split(' ').length).toBeLessThanOrEqual(6);
  });

  it("the host's files are not reachable through /proc/1/root", () => {
    const marker = join(d.dir, 'host-only-marker');
    spawnSync('touch', [marker]);
    const r = d.docker([
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      `ls /proc/1/root${marker} /proc/1/root/../../..${marker} 2>&1; ls /proc/1/root/`,
    ]);
    expect(r.stdout).not.toMatch(new RegExp(`^${marker}$`, 'm'));
    expect(r.stdout).toMatch(/No such file or directory/);
  });

  it('--network none has only lo; the default bridge adds eth0', () => {
    const none = ok(d.docker(['run', '--rm', '--network', 'none', 'busybox', 'ls', '/sys/class/net']));
    expect(none).toBe('lo\n');
    expect(ok(d.docker(['run', '--rm', 'busybox', 'ls', '/sys/class/net']))).toBe('eth0\nlo\n');
  });

  it("-m 32m shows in the container's cgroup and exceeding it exits 137", () => {
    const id = ok(d.docker(['run', '-d', '-m', '32m', 'busybox', 'sleep', '60'])).trim();
    try {
      const v1 = `/sys/fs/cgroup/memory/tsdocker/${id}/memory.limit_in_bytes`;
      const v2 = `/sys/fs/cgroup/tsdocker/${id}/memory.max`;
      const limit = existsSync(v1) ? readFileSync(v1, 'utf8') : readFileSync(v2, 'utf8');
      expect(limit.trim()).toBe(String(32 * 1024 * 1024));
      expect(ok(d.docker(['exec', id, 'cat', '/proc/self/cgroup']))).toMatch(
        new RegExp(`memory:/tsdocker/${id}|0::/tsdocker/${id}`),
      );
    } finally {
      d.docker(['rm', '-f', id]);
    }
    const hog = d.docker([
      'run',
      '--rm',
      '-m',
      '32m',
      'busybox',
      'sh',
      '-c',
      'x=a; while true; do x=$x$x; done',
    ]);
    expect(hog.status).toBe(137);
  });
});

describe('7. restart keeps stopped containers, their logs and images', () => {
  it('survives a daemon restart', async () => {
    ok(d.docker(['run', '--name', 'keeper', 'busybox', 'echo', 'kept line']));
    await d.restart();
    expect(ok(d.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']))).toMatch(
      /^keeper Exited \(0\) /m,
    );
    expect(ok(d.docker(['logs', 'keeper']))).toBe('kept line\n');
    expect(ok(d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']))).toContain('busybox:latest');
    expect(ok(d.docker(['start', '-a', 'keeper']))).toBe('kept line\n');
    ok(d.docker(['rm', 'keeper']));
  });
});

describe('7b. a daemon killed with SIGKILL', () => {
  it('leaves no process, cgroup or state behind once it is back', async () => {
    const id = ok(d.docker(['run', '-d', '--name', 'orphan', 'busybox', 'sleep', '1000'])).trim();
    const pid = ok(d.docker(['inspect', '-f', '{{.State.Pid}}', id])).trim();
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    d.process.kill('SIGKILL');
    await new Promise((r) => d.process.once('exit', r));
    await d.restart();
    expect(ok(d.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']))).toMatch(
      /^orphan Exited \(255\) /m,
    );
    // The old container's processes and cgroup are gone; it can start again.
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/memory/tsdocker/${id}`)).toBe(false);
    ok(d.docker(['start', 'orphan']));
    ok(d.docker(['rm', '-f', 'orphan']));
  });
});

describe("8. bad input gets Docker's status and message and changes nothing", () => {
  const stateFiles = () => readdirSync(join(d.dataRoot, 'containers')).sort();

  it('unknown image: 404', () => {
    const before = stateFiles();
    const probe = spawnSync(
      'curl',
      [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--unix-socket',
        d.socket,
        '-H',
        'Content-Type: application/json',
        '-d',
        '{"Image":"nosuchimage:1"}',
        'http://localhost/v1.50/containers/create',
      ],
      { encoding: 'utf8' },
    );
    expect(probe.stdout).toBe('404');
    // The CLI then tries a pull, which tsdocker refuses; `run` exits 125 as Docker's does.
    const run = d.docker(['run', '--rm', 'nosuchimage:1']);
    expect(run.status).toBe(125);
    expect(run.stderr).toContain("Unable to find image 'nosuchimage:1' locally");
    const create = d.docker(['create', 'nosuchimage:1']);
    expect(create.status).toBe(1);
    expect(stateFiles()).toEqual(before);
  });

  it('malformed JSON: 400', () => {
    const r = spawnSync(
      'curl',
      [
        '-s',
        '-o',
        '-',
        '-w',
        '\n%{http_code}',
        '--unix-socket',
        d.socket,
        '-H',
        'Content-Type: application/json',
        '-d',
        '{"Image": ',
        'http://localhost/v1.50/containers/create',
      ],
      { encoding: 'utf8' },
    );
    const lines = r.stdout.trim().split('\n');
    const code = lines.pop();
    const body = lines.join('\n');
    expect(code).toBe('400');
    expect(JSON.parse(body!).message).toMatch(/invalid|JSON/i);
  });

  it('invalid and duplicate names: 400 and 409', () => {
    const bad = d.docker(['create', '--name', 'bad name!', 'busybox']);
    expect(bad.stderr).toContain('Invalid container name (bad name!)');
    ok(d.docker(['create', '--name', 'dup', 'busybox']));
    const before = stateFiles();
    const dup = d.docker(['create', '--name', 'dup', 'busybox']);
    expect(dup.stderr).toContain('Conflict. The container name "/dup" is already in use by container');
    expect(stateFiles()).toEqual(before);
    ok(d.docker(['rm', 'dup']));
  });

  it('exec into a stopped container: 409', () => {
    ok(d.docker(['create', '--name', 'stopped', 'busybox']));
    const r = d.docker(['exec', 'stopped', 'true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/container [0-9a-f]{64} is not running/);
    ok(d.docker(['rm', 'stopped']));
  });

  it('remove a running container without force: 409', () => {
    ok(d.docker(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '60']));
    const r = d.docker(['rm', 'busy']);
    expect(r.stderr).toContain(
      'cannot remove container "busy": container is running: stop the container before removing or force remove',
    );
    expect(ok(d.docker(['ps', '--format', '{{.Names}}']))).toContain('busy');
    ok(d.docker(['rm', '-f', 'busy']));
  });
});
