/**
 * Capability names → numbers for the shim. Core decides which capabilities a process keeps
 * (Docker's defaults, `--cap-add`/`--cap-drop`, `--privileged`); without a device allowlist
 * (cgroup v2, see the README) CAP_MKNOD is withheld, or root in a container could create a node
 * for any host disk and open it.
 */
import { CAPABILITY_NUMBERS, DEFAULT_CAPABILITIES, invalidArgument } from '@tsdocker/core';

export function capabilityNumbers(
  names: readonly string[] | undefined,
  enforcesDeviceAllowlist: boolean,
): number[] {
  const out = new Set<number>();
  for (const name of names ?? DEFAULT_CAPABILITIES) {
    if (name === 'CAP_MKNOD' && !enforcesDeviceAllowlist) continue;
    const n = Object.hasOwn(CAPABILITY_NUMBERS, name) ? CAPABILITY_NUMBERS[name] : undefined;
    if (n === undefined) throw invalidArgument(`unknown capability: ${JSON.stringify(name)}`);
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}
