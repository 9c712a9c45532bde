import { describe, expect, it } from 'vitest';
import { daemonErrorFromBody } from '../src/client/errors.js';
import { compareApiVersions, negotiateApiVersion } from '../src/client/http-client.js';
import { readJsonStream } from '../src/client/json-stream.js';
import { encodeQuery } from '../src/client/query.js';
import { DEFAULT_HOST, parseDaemonHost, resolveClientHost } from '../src/host.js';
import {
  familiarName,
  familiarStringWithDefaultTag,
  normalizedName,
  parseReference,
  truncateId,
} from '../src/reference.js';

describe('daemon hosts', () => {
  it('parses unix and tcp addresses like docker', () => {
    expect(parseDaemonHost('unix:///run/tsdocker.sock')).toEqual({
      kind: 'unix',
      url: 'unix:///run/tsdocker.sock',
      socketPath: '/run/tsdocker.sock',
    });
    expect(parseDaemonHost('unix://')).toMatchObject({ socketPath: '/run/tsdocker.sock' });
    expect(parseDaemonHost('tcp://127.0.0.1:2376')).toMatchObject({
      kind: 'tcp',
      hostname: '127.0.0.1',
      port: 2376,
    });
    expect(parseDaemonHost('tcp://')).toMatchObject({ hostname: 'localhost', port: 2375 });
    expect(parseDaemonHost('example.com:1234')).toMatchObject({
      kind: 'tcp',
      hostname: 'example.com',
      port: 1234,
    });
    expect(parseDaemonHost('tcp://[::1]:80')).toMatchObject({
      hostname: '::1',
      port: 80,
      url: 'tcp://[::1]:80',
    });
    expect(() => parseDaemonHost('ssh://me@box')).toThrow("unsupported proto 'ssh'");
    expect(() => parseDaemonHost('unix://relative.sock')).toThrow('must be absolute');
  });

  it('prefers -H, then TSDOCKER_HOST, then DOCKER_HOST, then the default socket', () => {
    const env = { TSDOCKER_HOST: 'unix:///a.sock', DOCKER_HOST: 'unix:///b.sock' };
    expect(resolveClientHost(['unix:///flag.sock'], env).url).toBe('unix:///flag.sock');
    expect(resolveClientHost([], env).url).toBe('unix:///a.sock');
    expect(resolveClientHost([], { DOCKER_HOST: 'unix:///b.sock' }).url).toBe('unix:///b.sock');
    expect(resolveClientHost([], { DOCKER_HOST: '' }).url).toBe(DEFAULT_HOST);
    expect(() => resolveClientHost(['unix:///x', 'unix:///y'], {})).toThrow('Specify only one -H');
  });
});

describe('query strings', () => {
  it("encodes like Go's url.Values: sorted keys, + for spaces, repeated keys, true as 1", () => {
    expect(encodeQuery({ stream: true, stdout: true, stderr: true, stdin: false })).toBe(
      'stderr=1&stdout=1&stream=1',
    );
    expect(encodeQuery({ repo: 'myimp:1', fromSrc: '-', changes: ['CMD ["sh"]', 'ENV A=1'] })).toBe(
      'changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3D1&fromSrc=-&repo=myimp%3A1',
    );
    expect(encodeQuery({ filters: '{"a":{"b":true}}', limit: 3, name: undefined })).toBe(
      'filters=%7B%22a%22%3A%7B%22b%22%3Atrue%7D%7D&limit=3',
    );
    expect(encodeQuery({ path: "a*b~c!'()" })).toBe('path=a%2Ab~c%21%27%28%29');
  });
});

describe('API versions', () => {
  it('negotiates down, never up; no header means 1.24', () => {
    expect(negotiateApiVersion('1.50')).toBe('1.50');
    expect(negotiateApiVersion('1.51')).toBe('1.50');
    expect(negotiateApiVersion('1.43')).toBe('1.43');
    expect(negotiateApiVersion(undefined)).toBe('1.24');
    expect(compareApiVersions('1.9', '1.10')).toBeLessThan(0);
  });
});

describe('daemon errors', () => {
  const url = 'http://%2Frun%2Ftsdocker.sock/v1.50/containers/e/stop';

  it('reads JSON only with exactly application/json', () => {
    const body = Buffer.from('{"message":"No such container: b"}');
    expect(daemonErrorFromBody(404, 'application/json', body, url).message).toBe(
      'Error response from daemon: No such container: b',
    );
    expect(daemonErrorFromBody(404, 'application/json; charset=utf-8', body, url).message).toBe(
      'Error response from daemon: {"message":"No such container: b"}',
    );
  });

  it('handles plain text, empty JSON and empty bodies like the moby client', () => {
    expect(daemonErrorFromBody(404, 'text/plain', Buffer.from('No such container: c\n'), url).message).toBe(
      'Error response from daemon: No such container: c',
    );
    expect(daemonErrorFromBody(500, 'application/json', Buffer.from('{}'), url).message).toBe(
      'Error response from daemon: API returned a 500 (Internal Server Error) but provided no error-message',
    );
    expect(daemonErrorFromBody(404, undefined, Buffer.alloc(0), url).message).toBe(
      `request returned 404 Not Found for API route and version ${url}, check if the server supports the requested API version`,
    );
  });
});

describe('JSON streams', () => {
  it('splits concatenated values across chunks and whitespace', async () => {
    async function* source() {
      yield '{"status":"a"}\r\n{"sta';
      yield 'tus":"b \\"}{\\"","id":"x"}{"aux":{"ID":"sha256:1"}}';
      yield '  [1,2]\n';
    }
    const values: unknown[] = [];
    for await (const v of readJsonStream(source())) values.push(v);
    expect(values).toEqual([
      { status: 'a' },
      { status: 'b "}{"', id: 'x' },
      { aux: { ID: 'sha256:1' } },
      [1, 2],
    ]);
  });
});

describe('image references', () => {
  it('normalises and shortens like distribution/reference', () => {
    expect(normalizedName(parseReference('busybox'))).toBe('docker.io/library/busybox');
    expect(normalizedName(parseReference('myrepo/bb:v1'))).toBe('docker.io/myrepo/bb');
    expect(parseReference('registry:5000/x:1')).toMatchObject({
      domain: 'registry:5000',
      path: 'x',
      tag: '1',
    });
    expect(familiarName(parseReference('docker.io/library/alpine:3.19'))).toBe('alpine');
    expect(familiarName(parseReference('index.docker.io/me/app'))).toBe('me/app');
    expect(familiarStringWithDefaultTag('busybox')).toBe('busybox:latest');
    expect(familiarStringWithDefaultTag('localhost/x@sha256:abc')).toBe('localhost/x@sha256:abc');
    expect(truncateId('sha256:3f57d9401f8d42f986df300f0c69192f')).toBe('3f57d9401f8d');
  });
});
