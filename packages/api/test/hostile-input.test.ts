/**
 * Hostile input at the API's door: path parameters that cannot name anything never reach core,
 * odd bodies are 400s that name the field, stalled bodies time out, and filters cannot reach
 * Object.prototype.
 */

import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { parseFilters } from '@tsdocker/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRequestBody } from '../src/body.js';
import { checkJsonStructure } from '../src/validation/json-body.js';
import { jsonBody, request, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;

beforeEach(async () => {
  t = await startTestServer();
});

afterEach(async () => {
  await t.close();
});

const send = (
  method: string,
  path: string,
  extra: { headers?: Record<string, string>; body?: string } = {},
) => request(t.socketPath, { method, path, ...extra });

function message(res: { text: string }): string {
  return (JSON.parse(res.text) as { message: string }).message;
}

describe('path parameters', () => {
  it('answers container references that cannot name anything with 404, without asking core', async () => {
    const before = t.daemon.calls.length;
    for (const ref of ['..%2F..%2Fetc%2Fpasswd', '%00', 'a%20b', '%E2%80%AEx', '-rf', '.hidden']) {
      const res = await send('GET', `/v1.50/containers/${ref}/json`);
      expect(res.status, ref).toBe(404);
      expect(res.headers['content-type']).toBe('application/json');
      expect(message(res)).toBe(`No such container: ${decodeURIComponent(ref)}`);
    }
    const kill = await send('POST', '/v1.50/containers/..%2Fx/kill');
    expect(kill.status).toBe(404);
    expect(message(kill)).toBe('cannot kill container: ../x: No such container: ../x');
    expect(t.daemon.calls.slice(before).map((c) => c.method)).toEqual([]);
  });

  it('answers exec ids that are not 64 hex digits with 404', async () => {
    for (const id of ['abc', '..%2F..', 'A'.repeat(64), `${'a'.repeat(64)}x`]) {
      const res = await send('GET', `/v1.50/exec/${id}/json`);
      expect(res.status, id).toBe(404);
      expect(message(res)).toBe(`No such exec instance: ${decodeURIComponent(id)}`);
    }
    expect(t.daemon.lastCall('execs.inspect')).toBeUndefined();
  });

  it('answers image references with impossible characters or length with 400', async () => {
    for (const ref of ['a%20b', '%00', 'x%09y', '..%2F..', 'a'.repeat(1100)]) {
      const res = await send('GET', `/v1.50/images/${ref}/json`);
      expect(res.status, ref).toBe(400);
      expect(message(res)).toBe('invalid reference format');
    }
    // Real references with slashes, ports, tags and digests still get through.
    expect((await send('GET', '/v1.50/images/myrepo/bb:v1/json')).status).toBe(200);
    const digest = await send('GET', `/v1.50/images/localhost:5000/x@sha256:${'a'.repeat(64)}/json`);
    expect(digest.status).toBe(404);
  });
});

describe('request bodies', () => {
  it('refuses NUL bytes in create and exec bodies, naming the field', async () => {
    const create = await send(
      'POST',
      '/v1.50/containers/create',
      jsonBody({ Image: 'img', Cmd: ['a\u0000b'] }),
    );
    expect(create.status).toBe(400);
    expect(message(create)).toBe('invalid value for Cmd[0]: must not contain NUL bytes');
    const env = await send(
      'POST',
      '/v1.50/containers/create',
      jsonBody({ Image: 'img', HostConfig: { Dns: ['1.1.1.1', 'x\u0000'] } }),
    );
    expect(message(env)).toBe('invalid value for HostConfig.Dns[1]: must not contain NUL bytes');
    expect(t.daemon.lastCall('containers.create')).toBeUndefined();
  });

  it('refuses absurdly nested bodies with 400 instead of overflowing a stack', async () => {
    const nested = `{"Image":"img","Labels":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const res = await send('POST', '/v1.50/containers/create', {
      headers: { 'Content-Type': 'application/json' },
      body: nested,
    });
    expect(res.status).toBe(400);
    expect(message(res)).toMatch(/^invalid JSON: Labels(\[0\])+ is nested more than 32 levels deep$/);
  });

  it('refuses bad detach keys when the exec is created, as moby does', async () => {
    const id = await t.daemon.runSleeper('det');
    const res = await send(
      'POST',
      `/v1.50/containers/${id}/exec`,
      jsonBody({ Cmd: ['sh'], DetachKeys: 'ctrl-' }),
    );
    expect(res.status).toBe(400);
    expect(message(res)).toBe('Invalid detach keys (ctrl-) provided');
  });

  it('refuses bodies over the limit with 413 in the error shape, and closes the connection', async () => {
    const res = await send('POST', '/v1.50/containers/create', {
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(5 * 1024 * 1024) },
    }).catch((err: Error) => err);
    if (res instanceof Error) throw res;
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers.connection).toBe('close');
    expect(message(res)).toMatch(/request body is too large/);
  });

  it('times a stalled body out with 408', async () => {
    const stream = new PassThrough() as PassThrough & { headers: Record<string, string> };
    stream.headers = { 'content-length': '10' };
    stream.write('{"a"');
    await expect(readRequestBody(stream as unknown as IncomingMessage, 1024, 20)).rejects.toMatchObject({
      status: 408,
      message: 'timed out waiting for the rest of the request body',
    });
  });

  it('treats a huge stop timeout as "wait", not as a timer overflow', async () => {
    const id = await t.daemon.runSleeper('stopper');
    await send('POST', `/v1.50/containers/${id}/stop?t=99999999`);
    expect(t.daemon.lastCall('containers.stop')).toEqual([id, { timeout: -1 }]);
    await send('POST', `/v1.50/containers/${id}/restart?t=5`);
    expect(t.daemon.lastCall('containers.restart')).toEqual([id, { timeout: 5 }]);
  });
});

describe('structure checks', () => {
  it('walks bodies without recursion and names the field', () => {
    expect(() => checkJsonStructure({ a: [{ b: 'ok' }], c: null, d: 1 })).not.toThrow();
    expect(() => checkJsonStructure({ a: [{ b: 'n\u0000' }] })).toThrow('invalid value for a[0].b');
    expect(() => checkJsonStructure({ 'k\u0000': 1 })).toThrow('a key in (body) contains a NUL byte');
  });

  it('keeps a __proto__ filter an ordinary (unknown) key', () => {
    const filters = parseFilters('{"__proto__":["x"],"status":{"running":true}}');
    expect(Object.keys(filters).sort()).toEqual(['__proto__', 'status']);
    expect(Object.getPrototypeOf(filters)).toBeNull();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
