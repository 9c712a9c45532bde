import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, parseOptions } from '../src/options.js';

describe('driver options', () => {
  it('defaults everything', () => {
    expect(parseOptions(undefined)).toEqual(DEFAULT_OPTIONS);
    expect(DEFAULT_OPTIONS.shimPath).toMatch(/\/execdriver-native\/build\/tsd-shim$/);
  });

  it('accepts dockerd-style keys in any spelling', () => {
    expect(
      parseOptions({ 'cgroup-parent': '/docker/', 'native.cgroupdriver': 'cgroupfs', shimPath: '/opt/shim' }),
    ).toEqual({
      ...DEFAULT_OPTIONS,
      cgroupParent: 'docker',
      shimPath: '/opt/shim',
    });
  });

  it('refuses unknown keys, systemd cgroups and escaping parents', () => {
    expect(() => parseOptions({ colour: 'blue' })).toThrow(/unknown native exec driver option: colour/);
    expect(() => parseOptions({ 'native.cgroupdriver': 'systemd' })).toThrow(/only cgroupfs/);
    expect(() => parseOptions({ 'cgroup-parent': 'a/../..' })).toThrow(/invalid cgroup-parent/);
    expect(() => parseOptions({ 'shim-path': 'relative' })).toThrow(/absolute/);
    expect(() => parseOptions('x')).toThrow(/object/);
  });
});
