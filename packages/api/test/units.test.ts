import {
  API_VERSION,
  ApiError,
  compareApiVersions,
  decodeFrames,
  encodeFrame,
  errorResponseFor,
  MIN_API_VERSION,
  parseFilters,
  parseHost,
  StreamId,
  statusForKind,
} from '@tsdocker/api';
import { TsdockerError } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';

describe('status mapping', () => {
  it('maps every error kind like moby', () => {
    expect(statusForKind('not-found')).toBe(404);
    expect(statusForKind('invalid-argument')).toBe(400);
    expect(statusForKind('conflict')).toBe(409);
    expect(statusForKind('already-exists')).toBe(409);
    expect(statusForKind('not-supported')).toBe(501);
    expect(statusForKind('unavailable')).toBe(503);
    expect(statusForKind('forbidden')).toBe(403);
    expect(statusForKind('not-modified')).toBe(304);
    expect(statusForKind('cancelled')).toBe(500);
    expect(statusForKind('internal')).toBe(500);
  });

  it('resolves TsdockerErrors, ApiErrors and unknown errors', () => {
    expect(errorResponseFor(new TsdockerError('not-found', 'No such container: x'))).toEqual({
      status: 404,
      message: 'No such container: x',
      plainText: false,
    });
    expect(errorResponseFor(new ApiError(413, 'too big'))).toMatchObject({ status: 413, message: 'too big' });
    expect(errorResponseFor(new Error('boom'))).toMatchObject({ status: 500, message: 'boom' });
  });
});

describe('API versions', () => {
  it('advertises 1.50 and accepts from 1.24', () => {
    expect(API_VERSION).toBe('1.50');
    expect(MIN_API_VERSION).toBe('1.24');
  });

  it('compares numerically, part by part', () => {
    expect(compareApiVersions('1.9', '1.10')).toBe(-1);
    expect(compareApiVersions('1.50', '1.50.0')).toBe(0);
    expect(compareApiVersions('1.51', '1.50')).toBe(1);
    expect(compareApiVersions('2', '1.99')).toBe(1);
  });
});

describe('filters', () => {
  it('accepts the map-of-booleans form', () => {
    expect(parseFilters('{"status":{"exited":true},"label":{"a=b":true,"c":true}}')).toEqual({
      status: ['exited'],
      label: ['a=b', 'c'],
    });
  });

  it('accepts the legacy list form', () => {
    expect(parseFilters('{"label":["a=b","a=b","c"],"name":["web"]}')).toEqual({
      label: ['a=b', 'c'],
      name: ['web'],
    });
  });

  it('treats empty and null as no filters', () => {
    expect(parseFilters('')).toEqual({});
    expect(parseFilters('null')).toEqual({});
  });

  it("refuses malformed filters with moby's message", () => {
    for (const bad of ['{', '[]', '"x"', '{"a":"b"}', '{"a":[1]}', '{"a":{"b":"yes"}}']) {
      expect(() => parseFilters(bad), bad).toThrow('invalid filter');
    }
  });
});

describe('stdcopy framing', () => {
  it('writes an 8-byte big-endian header per frame', () => {
    const frame = encodeFrame(StreamId.stderr, Buffer.from('hello'));
    expect([...frame.subarray(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, 5]);
    expect(frame.subarray(8).toString()).toBe('hello');
  });

  it('round-trips frames and keeps a partial frame as the rest', () => {
    const data = Buffer.concat([
      encodeFrame(1, Buffer.from('a')),
      encodeFrame(2, Buffer.alloc(0)),
      encodeFrame(1, Buffer.from('bcd')),
    ]);
    const { frames, rest } = decodeFrames(Buffer.concat([data, Buffer.from([1, 0, 0, 0, 0, 0, 0, 9, 120])]));
    expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
      [1, 'a'],
      [2, ''],
      [1, 'bcd'],
    ]);
    expect(rest.length).toBe(9);
  });
});

describe('host addresses', () => {
  it('parses unix and tcp hosts', () => {
    expect(parseHost('unix:///run/tsdocker.sock')).toMatchObject({
      kind: 'unix',
      path: '/run/tsdocker.sock',
    });
    expect(parseHost('tcp://127.0.0.1:2375')).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 2375 });
    expect(parseHost('tcp://[::1]:0')).toMatchObject({ kind: 'tcp', host: '::1', port: 0 });
    expect(parseHost('tcp://localhost')).toMatchObject({ kind: 'tcp', host: 'localhost', port: 2375 });
  });

  it('refuses relative paths and unknown schemes', () => {
    expect(() => parseHost('unix://relative.sock')).toThrow('absolute path');
    expect(() => parseHost('fd://')).toThrow('not supported');
    expect(() => parseHost('http://x')).toThrow('expected unix:///path or tcp://host:port');
  });
});
