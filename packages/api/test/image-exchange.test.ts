/**
 * The HTTP side of `docker load` and `docker save` (`POST /images/load`, `GET /images/get`,
 * `GET /images/{name}/get`) against the fake daemon: statuses, content types, query handling
 * and where errors go.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;

beforeEach(async () => {
  t = await startTestServer();
});

afterEach(async () => {
  await t.close();
});

const lines = (text: string) =>
  text
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('POST /images/load', () => {
  it('answers a JSON stream with exactly application/json; quiet by default', async () => {
    const res = await request(t.socketPath, {
      method: 'POST',
      path: '/v1.50/images/load',
      headers: { 'Content-Type': 'application/x-tar' },
      body: 'an archive',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(lines(res.text)).toEqual([
      { stream: expect.stringMatching(/^Loaded image ID: sha256:[0-9a-f]{64}\n$/) },
    ]);
    expect(t.daemon.lastCall('images.load')).toEqual([{ quiet: true, platform: undefined }]);
  });

  it('passes quiet=0 and the JSON platform on', async () => {
    const platform = encodeURIComponent('{"architecture":"arm64","os":"linux"}');
    const res = await request(t.socketPath, {
      method: 'POST',
      path: `/v1.50/images/load?platform=${platform}&quiet=0`,
      body: 'an archive',
    });
    expect(lines(res.text).map((m) => m.status ?? 'stream')).toEqual(['Loading layer', 'stream']);
    expect(t.daemon.lastCall('images.load')).toEqual([
      { quiet: false, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
  });

  it('reports a failed load in-band with a 200, as moby does', async () => {
    const res = await request(t.socketPath, { method: 'POST', path: '/v1.50/images/load?quiet=1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(lines(res.text)).toEqual([
      { errorDetail: { message: 'invalid archive: it is empty' }, error: 'invalid archive: it is empty' },
    ]);
  });

  it('a malformed platform is an ordinary 400', async () => {
    const res = await request(t.socketPath, {
      method: 'POST',
      path: '/v1.50/images/load?platform=nope',
      body: 'x',
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).message).toMatch(/^failed to parse platform/);
  });
});

describe('GET /images/get and /images/{name}/get', () => {
  it('streams the archive as application/x-tar, names repeated in the query', async () => {
    const res = await request(t.socketPath, { path: '/v1.50/images/get?names=img&names=myrepo%2Fbb%3Av1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-tar');
    expect(res.text).toBe('fake archive of img,myrepo/bb:v1');
    expect(t.daemon.lastCall('images.save')).toEqual([
      { names: ['img', 'myrepo/bb:v1'], platform: undefined },
    ]);
  });

  it('takes the name from the path, slashes and all', async () => {
    const res = await request(t.socketPath, { path: '/v1.50/images/myrepo/bb:v1/get' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('fake archive of myrepo/bb:v1');
  });

  it('an unknown name is a 404 before any byte of the archive', async () => {
    const res = await request(t.socketPath, { path: '/v1.50/images/get?names=nosuch' });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.text).message).toMatch(/No such image: nosuch/);
  });
});
