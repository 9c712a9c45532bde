import { describe, expect, it } from 'vitest';
import { Firewall, networkRules, portRules } from '../src/firewall.js';
import { parseBridgeOptions } from '../src/options.js';

const fw = new Firewall('TSDX', true);

describe('firewall rules', () => {
  it('accepts forwarding for the bridge in our chain and isolates it from other bridges', () => {
    const rules = networkRules(fw, 'br-1', '10.5.0.0/24', false).map(
      (r) => `${r.table} ${r.chain} ${r.args.join(' ')}`,
    );
    expect(rules).toEqual([
      'filter TSDX-ISOLATION -i br-1 ! -o br-1 -j TSDX-ISOLATION2',
      'filter TSDX-ISOLATION2 -o br-1 -j DROP',
      'filter TSDX -o br-1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      'filter TSDX -i br-1 -o br-1 -j ACCEPT',
      'nat TSDX -i br-1 -j RETURN',
      'filter TSDX -i br-1 ! -o br-1 -j ACCEPT',
      'nat TSDX-POSTROUTING -s 10.5.0.0/24 ! -o br-1 -j MASQUERADE',
    ]);
  });

  it('cuts an internal network off from the outside', () => {
    const rules = networkRules(fw, 'br-2', '10.6.0.0/24', true).map((r) => r.args.join(' '));
    expect(rules).toContain('-i br-2 ! -d 10.6.0.0/24 -j DROP');
    expect(rules).toContain('-o br-2 ! -s 10.6.0.0/24 -j DROP');
    expect(rules.some((r) => r.includes('MASQUERADE'))).toBe(false);
  });

  it('leaves loopback publications to the proxy and DNATs the others', () => {
    const m = { protocol: 'tcp', hostPort: 18080, containerIp: '10.5.0.2', containerPort: 8080 };
    expect(portRules(fw, 'br-1', { ...m, hostIp: '127.0.0.1' }, true)).toEqual([]);
    const rules = portRules(fw, 'br-1', { ...m, hostIp: '0.0.0.0' }, true).map(
      (r) => `${r.table} ${r.args.join(' ')}`,
    );
    expect(rules).toEqual([
      'nat ! -i br-1 -p tcp --dport 18080 -j DNAT --to-destination 10.5.0.2:8080',
      'filter -d 10.5.0.2/32 ! -i br-1 -o br-1 -p tcp --dport 8080 -j ACCEPT',
    ]);
    const noProxy = portRules(fw, 'br-1', { ...m, hostIp: '127.0.0.1' }, false).map((r) => r.args.join(' '));
    expect(noProxy[0]).toBe('-d 127.0.0.1/32 -p tcp --dport 18080 -j DNAT --to-destination 10.5.0.2:8080');
    expect(noProxy[2]).toBe('-s 127.0.0.0/8 -o br-1 -j MASQUERADE');
  });
});

describe('options', () => {
  it('takes daemon.json booleans and network-opts strings', () => {
    expect(
      parseBridgeOptions({ iptables: false, 'userland-proxy': 'false', 'chain-prefix': 'TSDAB12' }),
    ).toMatchObject({
      iptables: false,
      userlandProxy: false,
      ipForward: true,
      chainPrefix: 'TSDAB12',
      bridgePrefix: 'br-',
    });
  });

  it('refuses unknown keys and names that do not fit', () => {
    expect(() => parseBridgeOptions({ nope: '1' })).toThrow(/unknown bridge network option "nope"/);
    expect(() => parseBridgeOptions({ 'bridge-prefix': 'much-too-long-' })).toThrow(/at most 9 characters/);
    expect(() => parseBridgeOptions({ iptables: 'maybe' })).toThrow(/expected true or false/);
  });
});
