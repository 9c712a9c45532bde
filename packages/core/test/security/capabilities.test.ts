import { describe, expect, it } from 'vitest';
import { parseCreateBody } from '../../src/container/create-config.js';
import {
  allCapabilities,
  CAPABILITY_NUMBERS,
  capabilityMask,
  containerCapabilities,
  DEFAULT_CAPABILITIES,
  daemonBoundingSet,
  normalizeCapabilities,
  validateCapabilities,
} from '../../src/security/capabilities.js';
import { capabilitiesFor } from '../../src/security/container-security.js';

describe('capabilities', () => {
  it("Docker's default set is the 14 capabilities of mask 0xa80425fb", () => {
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(capabilityMask(DEFAULT_CAPABILITIES)).toBe('00000000a80425fb');
    expect(CAPABILITY_NUMBERS.CAP_CHECKPOINT_RESTORE).toBe(40);
  });

  it('normalizes names as moby does: upper case, CAP_ prefix, ALL kept', () => {
    expect(normalizeCapabilities(['net_raw', 'CAP_SYS_ADMIN', 'all'])).toEqual([
      'CAP_NET_RAW',
      'CAP_SYS_ADMIN',
      'ALL',
    ]);
    expect(() => normalizeCapabilities(['FOO'])).toThrow('unknown capability: "CAP_FOO"');
  });

  it("refuses unknown names at create with Docker's messages", () => {
    expect(() => validateCapabilities(['CAP_FOO'], null)).toThrow(
      'invalid CapAdd: unknown capability: "CAP_FOO"',
    );
    expect(() => validateCapabilities(null, ['bar'])).toThrow(
      'invalid CapDrop: unknown capability: "CAP_BAR"',
    );
    expect(() => parseCreateBody({ Image: 'x', HostConfig: { CapAdd: ['CAP_FOO'] } })).toThrow(
      'invalid CapAdd: unknown capability: "CAP_FOO"',
    );
  });

  it('tweaks the default set with --cap-add, --cap-drop, ALL and --privileged', () => {
    expect(containerCapabilities({})).toEqual(DEFAULT_CAPABILITIES);
    expect(containerCapabilities({ capDrop: ['ALL'], capAdd: ['NET_RAW'] })).toEqual(['CAP_NET_RAW']);
    const dropped = containerCapabilities({ capDrop: ['MKNOD', 'CAP_NET_RAW'] });
    expect(dropped).not.toContain('CAP_MKNOD');
    expect(dropped).toHaveLength(12);
    expect(containerCapabilities({ capAdd: ['SYS_ADMIN'] })).toContain('CAP_SYS_ADMIN');
    const everythingBut = containerCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] });
    expect(everythingBut).not.toContain('CAP_SYS_ADMIN');
    expect(everythingBut).toHaveLength(allCapabilities().length - 1);
    expect(containerCapabilities({ privileged: true, capDrop: ['ALL'] })).toEqual(allCapabilities());
  });

  it("never gives more than the daemon's own bounding set holds", () => {
    const status = 'Name:\tnode\nCapBnd:\t000001fffeffffff\n'; // all but CAP_SYS_RESOURCE (24)
    const available = daemonBoundingSet(status);
    expect(available.has('CAP_SYS_RESOURCE')).toBe(false);
    expect(available.has('CAP_SYS_ADMIN')).toBe(true);
    expect(capabilitiesFor({ Privileged: true }, available)).not.toContain('CAP_SYS_RESOURCE');
    expect(capabilitiesFor({ CapAdd: ['ALL'] }, available)).not.toContain('CAP_SYS_RESOURCE');
    expect(() => capabilitiesFor({ CapAdd: ['SYS_RESOURCE'] }, available)).toThrow(
      /CAP_SYS_RESOURCE: the daemon does not hold it/,
    );
  });
});
