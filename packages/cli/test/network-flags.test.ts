import { describe, expect, it } from 'vitest';
import { buildCreateRequest, FlagValueError, parsePublish } from '../src/container/create-body.js';

const env = { env: {} };

describe('run: network flags', () => {
  it('parses -p the way docker does', () => {
    expect(parsePublish('8080')).toEqual({ key: '8080/tcp', binding: { HostIp: '', HostPort: '' } });
    expect(parsePublish('18080:8080')).toEqual({
      key: '8080/tcp',
      binding: { HostIp: '', HostPort: '18080' },
    });
    expect(parsePublish('127.0.0.1:18080:8080/udp')).toEqual({
      key: '8080/udp',
      binding: { HostIp: '127.0.0.1', HostPort: '18080' },
    });
    expect(parsePublish('127.0.0.1::80')).toEqual({
      key: '80/tcp',
      binding: { HostIp: '127.0.0.1', HostPort: '' },
    });
    expect(() => parsePublish('x:y')).toThrow('invalid port format: x:y');
  });

  it('fills PortBindings, ExposedPorts, PublishAllPorts, Dns, ExtraHosts, Links and aliases', () => {
    const { body } = buildCreateRequest(
      'busybox',
      [],
      {
        publish: ['127.0.0.1:18080:8080', '53/udp'],
        publishAll: true,
        expose: ['9000'],
        dns: ['192.0.2.53'],
        addHost: ['gw:host-gateway'],
        link: ['db:store'],
        network: 'front',
        networkAlias: ['web'],
      },
      env,
    );
    const hc = body.HostConfig as Record<string, unknown>;
    expect(hc.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }],
      '53/udp': [{ HostIp: '', HostPort: '' }],
    });
    expect(body.ExposedPorts).toEqual({ '8080/tcp': {}, '53/udp': {}, '9000/tcp': {} });
    expect(hc.PublishAllPorts).toBe(true);
    expect(hc.Dns).toEqual(['192.0.2.53']);
    expect(hc.ExtraHosts).toEqual(['gw:host-gateway']);
    expect(hc.Links).toEqual(['db:store']);
    expect(hc.NetworkMode).toBe('front');
    const endpoints = (body.NetworkingConfig as { EndpointsConfig: Record<string, { Aliases: string[] }> })
      .EndpointsConfig;
    expect(endpoints.front?.Aliases).toEqual(['web']);
  });

  it('refuses a malformed -p as a flag error', () => {
    expect(() => buildCreateRequest('busybox', [], { publish: ['a:b:c:d'] }, env)).toThrow(FlagValueError);
  });
});
