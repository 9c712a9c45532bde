import { describe, expect, it } from 'vitest';
import { DRIVER_API_VERSION } from '../../src/drivers/descriptor.js';
import {
  asDescriptor,
  importDriver,
  packageForDriver,
  parseKeyValueOptions,
} from '../../src/drivers/loader.js';

const descriptor = { kind: 'graph', name: 'fake', apiVersion: DRIVER_API_VERSION, create: async () => ({}) };

describe('driver loader', () => {
  it('maps short names to our packages and leaves other names alone', () => {
    expect(packageForDriver('graph', 'vfs')).toBe('@tsdocker/graphdriver-vfs');
    expect(packageForDriver('graph', 'overlay2')).toBe('@tsdocker/graphdriver-overlay');
    expect(packageForDriver('exec', 'native')).toBe('@tsdocker/execdriver-native');
    expect(packageForDriver('exec', '@acme/kata')).toBe('@acme/kata');
  });

  it('a missing package names the package to install', async () => {
    const importModule = async (s: string) => {
      const err = Object.assign(new Error(`Cannot find package '${s}' imported from x`), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
      throw err;
    };
    await expect(importDriver('graph', 'vfs', importModule)).rejects.toThrow(
      'graph driver "vfs" is not installed: install the package @tsdocker/graphdriver-vfs',
    );
  });

  it('accepts a default-exported descriptor of the right kind and version', async () => {
    const d = await importDriver('graph', 'x', async () => ({ default: descriptor }));
    expect(d.name).toBe('fake');
  });

  it('refuses another driver-API major, naming both versions', () => {
    expect(() => asDescriptor({ default: { ...descriptor, apiVersion: 99 } }, 'graph', 'pkg')).toThrow(
      `pkg was written for driver API v99, but this @tsdocker/core speaks v${DRIVER_API_VERSION}`,
    );
  });

  it('refuses the wrong kind and non-drivers', () => {
    expect(() => asDescriptor({ default: descriptor }, 'exec', 'pkg')).toThrow(
      'pkg is a graph driver, but it is configured as the exec driver',
    );
    expect(() => asDescriptor({ default: 42 }, 'exec', 'pkg')).toThrow('pkg is not a tsdocker driver');
  });

  it('parses key=value option lists', () => {
    expect(parseKeyValueOptions(['a=1', 'B = x=y'], 'storage-opts')).toEqual({ a: '1', b: 'x=y' });
    expect(() => parseKeyValueOptions(['nokey'], 'storage-opts')).toThrow('invalid storage-opts "nokey"');
  });
});
