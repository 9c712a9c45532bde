import { describe, expect, it } from 'vitest';
import { TsdockerError } from '../../src/errors.js';
import {
  AddressSpace,
  allocateSubnet,
  DEFAULT_ADDRESS_POOLS,
  parseIpamConfig,
  validatePools,
} from '../../src/network/ipam.js';
import {
  formatIp,
  formatSubnet,
  macForIp,
  overlaps,
  parseCidr,
  parseIp,
  parseSubnet,
} from '../../src/network/ipv4.js';

describe('ipv4', () => {
  it('parses and formats addresses and subnets', () => {
    expect(parseIp('10.1.2.3')).toBe(0x0a010203);
    expect(formatIp(0xac110001)).toBe('172.17.0.1');
    expect(parseIp('10.1.2')).toBeUndefined();
    expect(parseIp('10.1.2.256')).toBeUndefined();
    expect(parseIp('01.1.2.3')).toBeUndefined();
    expect(parseCidr('172.30.0.1/16')).toEqual({ ip: 0xac1e0001, subnet: { base: 0xac1e0000, bits: 16 } });
    expect(formatSubnet(parseSubnet('192.168.16.0/20'))).toBe('192.168.16.0/20');
  });

  it('refuses subnets with host bits, as Docker does', () => {
    expect(() => parseSubnet('10.5.0.1/16')).toThrow('invalid subnet 10.5.0.1/16: it should be 10.5.0.0/16');
    expect(() => parseSubnet('10.5.0.0')).toThrow('invalid CIDR address: 10.5.0.0');
    expect(() => parseSubnet('10.5.0.0/33')).toThrow('invalid CIDR address');
  });

  it('detects overlap both ways', () => {
    expect(overlaps(parseSubnet('10.0.0.0/8'), parseSubnet('10.5.0.0/24'))).toBe(true);
    expect(overlaps(parseSubnet('10.5.0.0/24'), parseSubnet('10.0.0.0/8'))).toBe(true);
    expect(overlaps(parseSubnet('10.5.0.0/24'), parseSubnet('10.5.1.0/24'))).toBe(false);
  });

  it("makes Docker's MAC from the address", () => {
    expect(macForIp(parseIp('172.17.0.2')!)).toBe('02:42:ac:11:00:02');
  });
});

describe('subnet allocation', () => {
  it("takes the first free subnet of Docker's pools", () => {
    expect(formatSubnet(allocateSubnet(DEFAULT_ADDRESS_POOLS, []))).toBe('172.17.0.0/16');
    const taken = [parseSubnet('172.17.0.0/16'), parseSubnet('172.18.5.0/24')];
    expect(formatSubnet(allocateSubnet(DEFAULT_ADDRESS_POOLS, taken))).toBe('172.19.0.0/16');
  });

  it('skips subnets that overlap a host route, and says when nothing is left', () => {
    const pools = [{ base: '10.9.0.0/23', size: 24 }];
    expect(formatSubnet(allocateSubnet(pools, [parseSubnet('10.9.0.0/24')]))).toBe('10.9.1.0/24');
    expect(() => allocateSubnet(pools, [parseSubnet('10.9.0.0/16')])).toThrow(
      /non-overlapping IPv4 address pool/,
    );
  });

  it('checks pools', () => {
    expect(() => validatePools([{ base: '10.0.0.0/16', size: 8 }])).toThrow(
      /pool size 8 is larger than the base/,
    );
    expect(() => validatePools([{ base: '10.0.0.1/16', size: 24 }])).toThrow(/invalid subnet/);
  });

  it('takes --subnet/--gateway and refuses a gateway outside the subnet', () => {
    expect(parseIpamConfig('10.5.0.0/24', undefined)).toEqual({
      subnet: parseSubnet('10.5.0.0/24'),
      gateway: parseIp('10.5.0.1'),
    });
    expect(parseIpamConfig('10.5.0.0/24', '10.5.0.254').gateway).toBe(parseIp('10.5.0.254'));
    expect(() => parseIpamConfig('10.5.0.0/24', '10.6.0.1')).toThrow(/does not belong to subnet/);
    expect(() => parseIpamConfig('10.5.0.0/31', undefined)).toThrow(/too small/);
  });
});

describe('address allocation', () => {
  const space = () => new AddressSpace(parseSubnet('10.5.0.0/29'), parseIp('10.5.0.1')!);

  it('hands out addresses in order, never the network, gateway or broadcast address', () => {
    const s = space();
    const got = [1, 2, 3, 4, 5].map(() => formatIp(s.allocate()));
    expect(got).toEqual(['10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5', '10.5.0.6']);
    expect(() => s.allocate()).toThrow(TsdockerError);
  });

  it('does not reuse a released address at once, but does when the space wraps', () => {
    const s = space();
    const a = s.allocate();
    s.allocate();
    s.release(a);
    expect(formatIp(s.allocate())).toBe('10.5.0.4');
    for (let i = 0; i < 2; i++) s.allocate();
    expect(formatIp(s.allocate())).toBe('10.5.0.2');
  });

  it('gives a preferred address when it is free, and restores reservations', () => {
    const s = space();
    expect(formatIp(s.allocate(parseIp('10.5.0.5')))).toBe('10.5.0.5');
    expect(formatIp(s.allocate(parseIp('10.5.0.5')))).toBe('10.5.0.6');
    s.reserve(parseIp('10.5.0.2')!);
    expect(() => s.reserve(parseIp('10.5.0.2')!)).toThrow('Address already in use: 10.5.0.2');
    expect(() => s.reserve(parseIp('10.6.0.2')!)).toThrow(/no configured subnet contains/);
    s.release(parseIp('10.5.0.1')!);
    expect(s.isUsed(parseIp('10.5.0.1')!)).toBe(true);
  });
});
