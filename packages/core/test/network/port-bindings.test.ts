import { describe, expect, it } from 'vitest';
import { linkEnv, parseLink } from '../../src/network/links.js';
import { portsSummary } from '../../src/network/network-settings.js';
import {
  parsePortKey,
  portMapFrom,
  publicationsFor,
  validatePortBindings,
} from '../../src/network/port-bindings.js';

describe('port bindings', () => {
  it('parses port keys', () => {
    expect(parsePortKey('8080/tcp')).toEqual({ port: 8080, protocol: 'tcp' });
    expect(parsePortKey('53/UDP')).toEqual({ port: 53, protocol: 'udp' });
    expect(parsePortKey('80')).toEqual({ port: 80, protocol: 'tcp' });
    expect(() => parsePortKey('0/tcp')).toThrow('invalid port specification: "0/tcp"');
    expect(() => parsePortKey('80/sctp')).toThrow(/sctp is not supported/);
  });

  it('refuses bad host addresses and ports at create time', () => {
    expect(() => validatePortBindings({ '80/tcp': [{ HostIp: 'nope', HostPort: '80' }] })).toThrow(
      'invalid IP address: nope',
    );
    expect(() => validatePortBindings({ '80/tcp': [{ HostIp: '', HostPort: '70000' }] })).toThrow(
      /invalid hostPort/,
    );
    expect(() => validatePortBindings({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] })).not.toThrow();
  });

  it('turns bindings and -P into publications', () => {
    const pubs = publicationsFor({
      portBindings: {
        '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }],
        '53/udp': [{ HostIp: '', HostPort: '' }],
      },
      exposedPorts: { '8080/tcp': {}, '9000/tcp': {} },
      publishAll: true,
    });
    expect(pubs).toEqual([
      { key: '8080/tcp', protocol: 'tcp', containerPort: 8080, hostIp: '127.0.0.1', hostPort: 18080 },
      { key: '53/udp', protocol: 'udp', containerPort: 53, hostIp: '0.0.0.0', hostPort: 0 },
      { key: '9000/tcp', protocol: 'tcp', containerPort: 9000, hostIp: '0.0.0.0', hostPort: 0 },
    ]);
  });

  it('turns a host port range into its bounds, and refuses a backwards one', () => {
    const [pub] = publicationsFor({
      portBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18000-18010' }] },
      exposedPorts: {},
      publishAll: false,
    });
    expect(pub).toMatchObject({ hostPort: 18000, hostPortEnd: 18010 });
    expect(() => validatePortBindings({ '80/tcp': [{ HostIp: '', HostPort: '9000-8000' }] })).toThrow(
      'invalid hostPort: 9000-8000 (for 80/tcp)',
    );
  });

  it("reports Docker's Ports map and the ps summary", () => {
    const map = portMapFrom({ '8080/tcp': {}, '9000/tcp': {} }, [
      { protocol: 'tcp', containerPort: 8080, hostIp: '127.0.0.1', hostPort: 18080, containerIp: '10.0.0.2' },
    ]);
    expect(map).toEqual({ '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }], '9000/tcp': null });
    expect(portsSummary({ SandboxID: '', SandboxKey: '', Networks: {}, Ports: map })).toEqual([
      { IP: '127.0.0.1', PrivatePort: 8080, PublicPort: 18080, Type: 'tcp' },
      { PrivatePort: 9000, Type: 'tcp' },
    ]);
  });
});

describe('legacy links', () => {
  it('parses the forms the CLI and the store use', () => {
    expect(parseLink('web')).toEqual({ target: 'web', alias: 'web' });
    expect(parseLink('web:db')).toEqual({ target: 'web', alias: 'db' });
    expect(parseLink('/web:/client/db')).toEqual({ target: 'web', alias: 'db' });
    expect(() => parseLink('a:b:c')).toThrow('invalid link format: a:b:c');
  });

  it("makes moby's environment variables", () => {
    const env = linkEnv({
      alias: 'my-db',
      parentName: 'client',
      ip: '172.17.0.2',
      exposedPorts: { '6379/tcp': {}, '53/udp': {} },
      env: ['PATH=/bin', 'PASSWORD=x', 'HOME=/root'],
    });
    expect(env).toEqual([
      'MY_DB_NAME=/client/my-db',
      'MY_DB_PORT=udp://172.17.0.2:53',
      'MY_DB_PORT_53_UDP=udp://172.17.0.2:53',
      'MY_DB_PORT_53_UDP_ADDR=172.17.0.2',
      'MY_DB_PORT_53_UDP_PORT=53',
      'MY_DB_PORT_53_UDP_PROTO=udp',
      'MY_DB_PORT_6379_TCP=tcp://172.17.0.2:6379',
      'MY_DB_PORT_6379_TCP_ADDR=172.17.0.2',
      'MY_DB_PORT_6379_TCP_PORT=6379',
      'MY_DB_PORT_6379_TCP_PROTO=tcp',
      'MY_DB_ENV_PASSWORD=x',
    ]);
  });
});
