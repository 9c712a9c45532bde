import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { decodeFrames } from '@tsdocker/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  hijackRequest,
  jsonBody,
  RawConnection,
  request,
  startTestServer,
  type TestServer,
} from './helpers.js';

let t: TestServer;

beforeEach(async () => {
  t = await startTestServer();
});

afterEach(async () => {
  await t.close();
});

const get = (path: string) => request(t.socketPath, { path });
const post = (
  path: string,
  extra: { headers?: Record<string, string | number>; body?: string | Buffer } = {},
) => request(t.socketPath, { method: 'POST', path, ...extra });

/** Creates a container through the API (as the CLI would) and returns its ID. */
async function createContainer(body: Record<string, unknown>, name?: string): Promise<string> {
  const res = await post(
    `/v1.50/containers/create${name ? `?name=${name}` : ''}`,
    jsonBody({ Image: 'img', ...body }),
  );
  expect(res.status, res.text).toBe(201);
  return (JSON.parse(res.text) as { Id: string }).Id;
}

/** Resolves as soon as the response head arrives, leaving the body unread. */
function responseHead(opts: { method?: string; path: string }): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath: t.socketPath, method: opts.method ?? 'GET', path: opts.path },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

function frameTexts(data: Buffer): Array<[number, string]> {
  return decodeFrames(data).frames.map((frame) => [frame.stream, frame.payload.toString()]);
}

describe('ping and standard headers', () => {
  it('answers HEAD /_ping with the negotiation headers and no body', async () => {
    const res = await request(t.socketPath, { method: 'HEAD', path: '/_ping' });
    expect(res.status).toBe(200);
    expect(res.headers['api-version']).toBe('1.50');
    expect(res.headers.ostype).toBe('linux');
    expect(res.headers['docker-experimental']).toBe('false');
    expect(res.headers.server).toBe('Docker/0.0.0-fake (linux)');
    expect(res.headers['builder-version']).toBe('1');
    expect(res.headers.swarm).toBe('inactive');
    expect(res.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.body.length).toBe(0);
    // Header casing as moby sends it.
    expect(res.rawHeaders).toContain('Api-Version');
    expect(res.rawHeaders).toContain('Ostype');
  });

  it('answers GET /_ping with OK, versioned or not', async () => {
    for (const path of ['/_ping', '/v1.50/_ping', '/v1.24/_ping']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.text).toBe('OK');
    }
  });

  it('puts the standard headers on errors too', async () => {
    const res = await get('/v1.50/containers/nosuch/json');
    expect(res.status).toBe(404);
    expect(res.headers['api-version']).toBe('1.50');
    expect(res.headers.server).toBe('Docker/0.0.0-fake (linux)');
  });

  it('serves /version and /info from the system service', async () => {
    const version = await get('/v1.50/version');
    expect(version.status).toBe(200);
    expect(version.headers['content-type']).toBe('application/json');
    expect(JSON.parse(version.text)).toMatchObject({ Version: '0.0.0-fake', ApiVersion: '1.50' });
    const info = await get('/info');
    expect(JSON.parse(info.text)).toMatchObject({ ID: 'FAKE:DAEMON', OSType: 'linux' });
  });
});

describe('versions, routing and error shapes', () => {
  it("refuses versions above 1.50 with moby's message", async () => {
    const res = await get('/v1.51/containers/json');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.text)).toEqual({
      message: 'client version 1.51 is too new. Maximum supported API version is 1.50',
    });
  });

  it('refuses versions below 1.24 in plain text, like moby', async () => {
    const res = await get('/v1.23/containers/json');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text.trim()).toBe(
      'client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
    );
  });

  it('answers unknown routes and wrong methods with page not found', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/v1.50/nope'],
      ['GET', '/v9.99/nope'],
      ['PUT', '/v1.50/containers/json'],
      ['GET', '/v1.50/containers/create'],
    ] as const) {
      const res = await request(t.socketPath, { method, path });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers['content-type']).toBe('application/json');
      expect(JSON.parse(res.text)).toEqual({ message: 'page not found' });
    }
  });

  it('returns core errors as {"message"} with exactly application/json', async () => {
    const res = await get('/v1.50/containers/nosuch/json');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.text).toBe('{"message":"No such container: nosuch"}\n');
  });

  it('answers the inspect probes for networks, volumes and plugins with 404', async () => {
    const cases: Array<[string, string]> = [
      ['/v1.50/networks/mynet', 'network mynet not found'],
      ['/v1.50/volumes/myvol', 'get myvol: no such volume'],
      ['/v1.50/plugins/vieux/sshfs/json', 'plugin "vieux/sshfs:latest" not found'],
    ];
    for (const [path, message] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.text)).toEqual({ message });
    }
  });

  it('answers known but unimplemented endpoints with 501 and a sentence', async () => {
    const res = await post('/v1.50/images/busybox/push');
    expect(res.status).toBe(501);
    expect(JSON.parse(res.text)).toEqual({ message: 'docker push is not implemented by tsdocker yet' });
  });

  it('refuses a body where the endpoint takes none', async () => {
    const id = await createContainer({ Cmd: ['sleep', 'x'] });
    const res = await post(`/v1.50/containers/${id}/start`, jsonBody({ HostConfig: { Privileged: true } }));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).message).toMatch(/non-empty request body/);
  });
});

describe('query and body parsing', () => {
  it('parses booleans like moby', async () => {
    for (const [value, expected] of [
      ['1', true],
      ['true', true],
      ['yes', true],
      ['0', false],
      ['no', false],
      ['FALSE', false],
      ['none', false],
      ['', false],
    ] as const) {
      await get(`/v1.50/containers/json?all=${value}`);
      const [options] = (t.daemon.lastCall('containers.list') ?? []) as [{ all: boolean }?];
      expect(options?.all, value).toBe(expected);
    }
  });

  it('passes filters in both wire forms as the same Filters', async () => {
    const mapForm = encodeURIComponent('{"status":{"exited":true},"label":{"a=b":true}}');
    await get(`/v1.50/containers/json?all=1&filters=${mapForm}`);
    expect(t.daemon.lastListFilters()).toEqual({ status: ['exited'], label: ['a=b'] });
    const listForm = encodeURIComponent('{"status":["exited"],"label":["a=b"]}');
    await get(`/containers/json?all=true&filters=${listForm}`);
    expect(t.daemon.lastListFilters()).toEqual({ status: ['exited'], label: ['a=b'] });
  });

  it('decodes + as a space and keeps repeated keys', async () => {
    const id = await createContainer({ Cmd: ['sleep', 'x'] });
    await post(`/v1.50/containers/${id}/start`);
    const res = await get(`/v1.50/containers/${id}/top?ps_args=-o+pid%2Ccomm`);
    expect(res.status).toBe(200);
    expect(t.daemon.lastCall('containers.top')?.[1]).toBe('-o pid,comm');
  });

  it('refuses malformed filters, limits and JSON with 400', async () => {
    const badFilters = await get('/v1.50/containers/json?filters=%7Bnope');
    expect(badFilters.status).toBe(400);
    expect(JSON.parse(badFilters.text)).toEqual({ message: 'invalid filter' });

    const badLimit = await get('/v1.50/containers/json?limit=ten');
    expect(badLimit.status).toBe(400);

    const badJson = await post('/v1.50/containers/create', {
      headers: { 'Content-Type': 'application/json' },
      body: '{"Image":',
    });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.text).message).toMatch(/^invalid JSON: /);

    const emptyBody = await post('/v1.50/containers/create', {
      headers: { 'Content-Type': 'application/json' },
    });
    expect(JSON.parse(emptyBody.text)).toEqual({
      message: 'invalid JSON: got EOF while reading request body',
    });

    const wrongType = await post('/v1.50/containers/create', {
      headers: { 'Content-Type': 'text/plain' },
      body: '{}',
    });
    expect(wrongType.status).toBe(400);
    expect(JSON.parse(wrongType.text)).toEqual({
      message: "unsupported Content-Type header (text/plain): must be 'application/json'",
    });
    expect(t.daemon.lastCall('containers.create')).toBeUndefined();
  });

  it('refuses JSON bodies over 4 MiB with 413 and changes nothing', async () => {
    const huge = JSON.stringify({ Image: 'img', Env: ['X='.padEnd(5 * 1024 * 1024, 'x')] });
    const res = await post('/v1.50/containers/create', {
      headers: { 'Content-Type': 'application/json' },
      body: huge,
    });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.text).message).toMatch(/too large/);
    expect(t.daemon.containerMap.size).toBe(0);
  });

  it('uses only name and platform from the create query (dockerode repeats options there)', async () => {
    const res = await post(
      '/containers/create?Image=busybox&Cmd=echo&Cmd=hi&Tty=false&name=web&platform=linux/amd64',
      jsonBody({ Image: 'img', Cmd: ['echo', 'hi'] }),
    );
    expect(res.status).toBe(201);
    expect(JSON.parse(res.text)).toMatchObject({ Warnings: [] });
    expect(t.daemon.lastCall('containers.create')?.[0]).toMatchObject({
      name: 'web',
      platform: 'linux/amd64',
    });
  });

  it("validates resize sizes with moby's messages", async () => {
    const id = await createContainer({ Cmd: ['sleep', 'x'], Tty: true });
    const bad = await post(`/v1.50/containers/${id}/resize?h=abc&w=80`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toEqual({ message: 'invalid resize height "abc": invalid syntax' });
    const negative = await post(`/v1.50/containers/${id}/resize?h=30&w=-1`);
    expect(JSON.parse(negative.text)).toEqual({ message: 'invalid resize width "-1": value out of range' });
    const ok = await post(`/v1.50/containers/${id}/resize?h=30&w=100`);
    expect(ok.status).toBe(200);
    expect(t.daemon.lastCall('containers.resize')).toEqual([id, 30, 100]);
  });
});

describe('container lifecycle statuses', () => {
  it('answers start twice with 204 then 304, stop on a stopped container with 304', async () => {
    const id = await createContainer({ Cmd: ['sleep', 'x'] });
    expect((await post(`/v1.50/containers/${id}/start`)).status).toBe(204);
    expect((await post(`/v1.50/containers/${id}/start`)).status).toBe(304);
    expect((await post(`/v1.50/containers/${id}/stop?t=3&signal=SIGINT`)).status).toBe(204);
    expect(t.daemon.lastCall('containers.stop')).toEqual([id, { timeout: 3, signal: 'SIGINT' }]);
    await t.daemon.whenExited(id);
    expect((await post(`/v1.50/containers/${id}/stop`)).status).toBe(304);
  });

  it('prefixes kill errors the way moby does, keeping the status', async () => {
    await createContainer({ Cmd: ['sleep', 'x'] }, 'idle');
    const res = await post('/v1.50/containers/idle/kill?signal=HUP');
    expect(res.status).toBe(409);
    expect(JSON.parse(res.text).message).toMatch(
      /^cannot kill container: idle: container [0-9a-f]{64} is not running$/,
    );
    const missing = await post('/v1.50/containers/ghost/kill');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({
      message: 'cannot kill container: ghost: No such container: ghost',
    });
  });

  it('removes with force and reports conflicts without it', async () => {
    await t.daemon.runSleeper('busy');
    const refused = await request(t.socketPath, { method: 'DELETE', path: '/v1.50/containers/busy' });
    expect(refused.status).toBe(409);
    const forced = await request(t.socketPath, {
      method: 'DELETE',
      path: '/v1.50/containers/busy?force=1&v=1',
    });
    expect(forced.status).toBe(204);
    expect(t.daemon.lastCall('containers.remove')).toEqual([
      'busy',
      { force: true, volumes: true, link: false },
    ]);
  });
});

describe('wait', () => {
  it('sends the headers before the result, then the status line', async () => {
    const id = await t.daemon.runSleeper('sleeper');
    const response = await responseHead({
      method: 'POST',
      path: `/v1.50/containers/${id}/wait?condition=next-exit`,
    });
    // The headers arrived while the container is still running (the CLI starts it only now).
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(t.daemon.containerMap.get(id)?.status).toBe('running');

    const body = new Promise<string>((resolve) => {
      let text = '';
      response.on('data', (d: Buffer) => {
        text += d.toString();
      });
      response.on('end', () => resolve(text));
    });
    expect((await post(`/v1.50/containers/${id}/kill`)).status).toBe(204);
    expect(await body).toBe('{"StatusCode":137}\n');
  });

  it('answers at once for a container that is not running', async () => {
    const id = await createContainer({ Cmd: ['sh', '-c', 'exit 5'] });
    await post(`/v1.50/containers/${id}/start`);
    await t.daemon.whenExited(id);
    const res = await post(`/v1.50/containers/${id}/wait`);
    expect(res.text).toBe('{"StatusCode":5}\n');
  });

  it('refuses unknown conditions and unknown containers before any header', async () => {
    const id = await createContainer({ Cmd: ['sleep', 'x'] });
    const bad = await post(`/v1.50/containers/${id}/wait?condition=whenever`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toEqual({ message: 'invalid condition: "whenever"' });
    const missing = await post('/v1.50/containers/ghost/wait');
    expect(missing.status).toBe(404);
  });

  it('drops the waiter when the client goes away (docker run -d)', async () => {
    const id = await t.daemon.runSleeper('abandoned');
    const conn = await RawConnection.open(t.socketPath);
    conn.write(
      `POST /v1.50/containers/${id}/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
    );
    const head = await conn.readHead();
    expect(head.status).toBe(200);
    expect(t.daemon.containerMap.get(id)?.waiters.length).toBe(1);
    const aborted = once(t.daemon.events, 'wait-aborted');
    conn.destroy();
    expect(await aborted).toEqual([id]);
    expect(t.daemon.containerMap.get(id)?.waiters.length).toBe(0);
  });
});

describe('logs', () => {
  it('frames stdout and stderr for non-TTY containers', async () => {
    const id = await createContainer({ Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 0'] });
    await post(`/v1.50/containers/${id}/start`);
    await t.daemon.whenExited(id);
    const res = await get(
      `/v1.50/containers/${id}/logs?stderr=1&stdout=1&tail=all&since=1704067200.000000000`,
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.docker.multiplexed-stream');
    expect(frameTexts(res.body)).toEqual([
      [1, 'out\n'],
      [2, 'err\n'],
    ]);
    expect(t.daemon.lastCall('containers.logs')?.[1]).toMatchObject({
      since: 1704067200,
      tail: 'all',
      follow: false,
    });
  });

  it('sends raw bytes for TTY containers', async () => {
    const id = await createContainer({ Cmd: ['echo', 'tty', 'text'], Tty: true });
    await post(`/v1.50/containers/${id}/start`);
    await t.daemon.whenExited(id);
    const res = await get(`/containers/${id}/logs?stdout=1&tail=1`);
    expect(res.headers['content-type']).toBe('application/vnd.docker.raw-stream');
    expect(res.text).toBe('tty text\n');
  });

  it('follows until the container stops', async () => {
    const id = await t.daemon.runSleeper('follow');
    const response = await responseHead({ path: `/v1.50/containers/${id}/logs?follow=1&stdout=1&stderr=1` });
    expect(response.statusCode).toBe(200);
    const ended = new Promise<void>((resolve) => response.on('end', resolve).resume());
    await post(`/v1.50/containers/${id}/kill`);
    await ended;
  });

  it('refuses logs with neither stream and bad timestamps', async () => {
    const id = await createContainer({ Cmd: ['sleep', 'x'] });
    const none = await get(`/v1.50/containers/${id}/logs`);
    expect(none.status).toBe(400);
    expect(JSON.parse(none.text)).toEqual({ message: 'Bad parameters: you must choose at least one stream' });
    const badSince = await get(`/v1.50/containers/${id}/logs?stdout=1&since=yesterday`);
    expect(badSince.status).toBe(400);
  });
});

describe('attach', () => {
  it('hijacks with 101, streams frames, keeps going after the client half-closes, closes at the end', async () => {
    const id = await createContainer({ Cmd: ['sh', '-c', 'echo one; echo two >&2; exit 0'] });
    const conn = await RawConnection.open(t.socketPath);
    conn.write(hijackRequest(`/v1.50/containers/${id}/attach?stderr=1&stdout=1&stream=1`));
    const head = await conn.readHead();
    expect(head.statusLine).toBe('HTTP/1.1 101 UPGRADED');
    expect(head.headers.get('content-type')).toBe('application/vnd.docker.multiplexed-stream');
    expect(head.headers.get('connection')).toBe('Upgrade');
    expect(head.headers.get('upgrade')).toBe('tcp');
    // Like the CLI without -i: FIN right after the 101, then start the container.
    conn.halfClose();
    expect((await post(`/v1.50/containers/${id}/start`)).status).toBe(204);
    const output = await conn.readToEnd();
    expect(frameTexts(output)).toEqual([
      [1, 'one\n'],
      [2, 'two\n'],
    ]);
    await conn.closed;
  });

  it('reads the declared body from head and treats only what follows as stdin', async () => {
    const id = await createContainer({ Cmd: ['cat'], OpenStdin: true, StdinOnce: true, AttachStdin: true });
    const conn = await RawConnection.open(t.socketPath);
    const options = JSON.stringify({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    // dockerode's hijacked attach: options JSON body and the first stdin bytes in one packet.
    conn.write(
      `${hijackRequest(`/containers/${id}/attach?stream=true&stdin=true&stdout=true&stderr=true`, {
        body: options,
        contentType: 'application/json',
      })}hello\n`,
    );
    const head = await conn.readHead();
    expect(head.status).toBe(101);
    expect((await post(`/containers/${id}/start`)).status).toBe(204);
    conn.write('world\n');
    conn.halfClose();
    const output = await conn.readToEnd();
    expect(
      frameTexts(output)
        .map(([, text]) => text)
        .join(''),
    ).toBe('hello\nworld\n');
    await conn.closed;
    expect(JSON.parse((await get(`/containers/${id}/json`)).text).State.ExitCode).toBe(0);
  });

  it('answers a missing container with an ordinary JSON 404 on the raw socket', async () => {
    const conn = await RawConnection.open(t.socketPath);
    conn.write(hijackRequest('/v1.50/containers/ghost/attach?stdout=1&stream=1'));
    const head = await conn.readHead();
    expect(head.status).toBe(404);
    expect(head.headers.get('content-type')).toBe('application/json');
    expect(head.headers.get('api-version')).toBe('1.50');
    const body = await conn.readToEnd();
    expect(JSON.parse(body.toString())).toEqual({ message: 'No such container: ghost' });
  });

  it('streams a plain (non-upgrade) attach as 200 raw-stream on the same connection', async () => {
    const id = await createContainer({ Cmd: ['sh', '-c', 'echo plain; exit 0'] });
    const conn = await RawConnection.open(t.socketPath);
    conn.write(hijackRequest(`/containers/${id}/attach?stream=1&stdout=1&stderr=1`, { upgrade: false }));
    const head = await conn.readHead();
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/vnd.docker.raw-stream');
    expect(head.headers.get('transfer-encoding')).toBeUndefined();
    await post(`/containers/${id}/start`);
    const output = await conn.readToEnd();
    expect(frameTexts(output)).toEqual([[1, 'plain\n']]);
  });

  it('streams raw bytes for TTY containers and detaches on ctrl-p ctrl-q', async () => {
    const catId = await createContainer({ Cmd: ['cat'], Tty: true, OpenStdin: true });
    await post(`/containers/${catId}/start`);
    const conn = await RawConnection.open(t.socketPath);
    conn.write(hijackRequest(`/v1.50/containers/${catId}/attach?stdin=1&stdout=1&stderr=1&stream=1`));
    const head = await conn.readHead();
    expect(head.headers.get('content-type')).toBe('application/vnd.docker.raw-stream');
    conn.write('abc');
    await conn.readUntil((d) => d.toString() === 'abc');
    conn.write(Buffer.from([0x10, 0x11]));
    const output = await conn.readToEnd();
    expect(output.toString()).toBe('abc');
    // The server ended its side; the client closes its own, as the CLI does at end of output.
    conn.halfClose();
    await conn.closed;
    // Detaching leaves the container running.
    expect(t.daemon.containerMap.get(catId)?.status).toBe('running');
  });

  it('refuses an Upgrade on endpoints that cannot hijack', async () => {
    const id = await createContainer({ Cmd: ['sleep', 'x'] });
    const conn = await RawConnection.open(t.socketPath);
    conn.write(hijackRequest(`/v1.50/containers/${id}/wait`));
    const head = await conn.readHead();
    expect(head.status).toBe(400);
    expect(head.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse((await conn.readToEnd()).toString()).message).toMatch(
      /cannot be used with "Upgrade: tcp"/,
    );
  });

  it('refuses invalid detach keys before hijacking', async () => {
    const id = await createContainer({ Cmd: ['cat'], Tty: true, OpenStdin: true });
    const conn = await RawConnection.open(t.socketPath);
    conn.write(hijackRequest(`/v1.50/containers/${id}/attach?stdin=1&stream=1&detachKeys=ctrl-%3F%3F`));
    const head = await conn.readHead();
    expect(head.status).toBe(400);
    expect(JSON.parse((await conn.readToEnd()).toString())).toEqual({
      message: 'Invalid detach keys (ctrl-??) provided',
    });
  });
});

describe('exec', () => {
  async function createExec(
    containerId: string,
    cmd: string[],
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const res = await post(
      `/v1.50/containers/${containerId}/exec`,
      jsonBody({ AttachStdout: true, AttachStderr: true, Cmd: cmd, ...extra }),
    );
    expect(res.status, res.text).toBe(201);
    return (JSON.parse(res.text) as { Id: string }).Id;
  }

  it('hijacks exec start with the JSON body in head, and records the exit code before closing', async () => {
    const id = await t.daemon.runSleeper('execbox');
    const execId = await createExec(id, ['sh', '-c', 'echo hi; echo bad >&2; exit 3']);
    const conn = await RawConnection.open(t.socketPath);
    conn.write(
      hijackRequest(`/v1.50/exec/${execId}/start`, {
        body: '{"Detach":false,"Tty":false}',
        contentType: 'application/json',
      }),
    );
    const head = await conn.readHead();
    expect(head.status).toBe(101);
    conn.halfClose();
    const output = await conn.readToEnd();
    expect(frameTexts(output)).toEqual([
      [1, 'hi\n'],
      [2, 'bad\n'],
    ]);
    const inspect = JSON.parse((await get(`/v1.50/exec/${execId}/json`)).text);
    expect(inspect).toMatchObject({ ExitCode: 3, Running: false });
  });

  it('streams a plain exec start as the response body', async () => {
    const id = await t.daemon.runSleeper('execplain');
    const execId = await createExec(id, ['echo', 'plain']);
    const res = await post(`/exec/${execId}/start`, jsonBody({}));
    expect(res.status).toBe(200);
    expect(frameTexts(res.body)).toEqual([[1, 'plain\n']]);
  });

  it('answers a detached start with an empty 200', async () => {
    const id = await t.daemon.runSleeper('execdetach');
    const execId = await createExec(id, ['echo', 'ignored']);
    const res = await post(`/v1.50/exec/${execId}/start`, jsonBody({ Detach: true, Tty: false }));
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(t.daemon.lastCall('execs.start')?.[1]).toEqual({ detach: true, tty: false, consoleSize: null });
  });

  it('validates the create and start bodies', async () => {
    const id = await t.daemon.runSleeper('execbad');
    const noCmd = await post(`/v1.50/containers/${id}/exec`, jsonBody({ Cmd: [] }));
    expect(noCmd.status).toBe(400);
    expect(JSON.parse(noCmd.text)).toEqual({ message: 'No exec command specified' });
    const execId = await createExec(id, ['echo', 'x']);
    const badStart = await post(`/v1.50/exec/${execId}/start`, jsonBody({ Detach: 'yes' }));
    expect(badStart.status).toBe(400);
    const missing = await post('/v1.50/exec/nosuch/start', jsonBody({ Detach: true }));
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({ message: 'No such exec instance: nosuch' });
  });

  it('keeps ConsoleSize only with a TTY', async () => {
    const id = await t.daemon.runSleeper('execsize');
    const execId = await createExec(id, ['echo', 'x'], { Tty: true });
    await post(`/v1.50/exec/${execId}/start`, jsonBody({ Detach: true, Tty: true, ConsoleSize: [30, 100] }));
    expect(t.daemon.lastCall('execs.start')?.[1]).toEqual({
      detach: true,
      tty: true,
      consoleSize: [30, 100],
    });
  });
});

describe('images', () => {
  it('routes image names with slashes and colons in the path', async () => {
    const inspect = await get('/v1.50/images/myrepo/bb:v1/json');
    expect(inspect.status).toBe(200);
    expect(t.daemon.lastCall('images.inspect')).toEqual(['myrepo/bb:v1']);

    const history = await get('/v1.50/images/myrepo/bb:v1/history');
    expect(history.status).toBe(200);

    const tag = await post('/v1.50/images/myrepo/bb:v1/tag?repo=docker.io%2Fother%2Fname&tag=v2');
    expect(tag.status).toBe(201);
    expect(t.daemon.lastCall('images.tag')).toEqual(['myrepo/bb:v1', 'docker.io/other/name', 'v2']);

    const removed = await request(t.socketPath, {
      method: 'DELETE',
      path: '/v1.50/images/other/name:v2?force=1',
    });
    expect(removed.status).toBe(200);
    expect(JSON.parse(removed.text)).toEqual([{ Untagged: 'other/name:v2' }]);
    expect(t.daemon.lastCall('images.remove')).toEqual(['other/name:v2', { force: true, noprune: false }]);

    const missing = await get('/v1.50/images/nosuch/json');
    expect(JSON.parse(missing.text)).toEqual({ message: 'No such image: nosuch:latest' });
  });

  it('compares the inspect platform with the image', async () => {
    const match = await get(
      `/v1.50/images/img/json?platform=${encodeURIComponent('{"os":"linux","architecture":"amd64"}')}`,
    );
    expect(match.status).toBe(200);
    const mismatch = await get(
      `/v1.50/images/img/json?platform=${encodeURIComponent('{"os":"linux","architecture":"arm64"}')}`,
    );
    expect(mismatch.status).toBe(404);
    const malformed = await get(`/v1.50/images/img/json?platform=${encodeURIComponent('{"os":"linux"}')}`);
    expect(JSON.parse(malformed.text)).toEqual({ message: 'both OS and Architecture must be provided' });
  });

  it('imports a streamed body and answers with a JSON message stream', async () => {
    const res = await request(t.socketPath, {
      method: 'POST',
      path: '/v1.50/images/create?changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3D1&fromSrc=-&message=hello&repo=imp%3A1',
      headers: { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' },
      body: Buffer.alloc(4096, 7),
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.text).toMatch(/^\{"status":"sha256:[0-9a-f]{64}"\}\r\n$/);
    expect(t.daemon.lastCall('images.import')?.[0]).toMatchObject({
      repo: 'imp:1',
      changes: ['CMD ["sh"]', 'ENV A=1'],
      message: 'hello',
    });
    expect((await get('/v1.50/images/imp:1/json')).status).toBe(200);
  });

  it('reports an import failure before any output as an HTTP error', async () => {
    const res = await post('/v1.50/images/create?fromSrc=-&repo=empty', {
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ message: 'the archive is empty' });
  });

  it('explains that pulling is not supported', async () => {
    const res = await post('/v1.50/images/create?fromImage=docker.io%2Flibrary%2Funknownimage&tag=latest', {
      headers: { 'X-Registry-Auth': 'e30=' },
    });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).message).toMatch(
      /^cannot pull docker\.io\/library\/unknownimage:latest: pulling from registries is not supported/,
    );
  });
});
