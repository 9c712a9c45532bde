/**
 * Capabilities a container process keeps. ContainerSpec has no capability field yet, so the
 * driver applies Docker's default set (moby's oci/caps/defaults.go) to every process: root in a
 * container keeps these, everything else (SYS_ADMIN, SYS_MODULE, NET_ADMIN, …) is dropped from
 * the bounding set and can never be regained.
 */
const CAPABILITY_NUMBERS = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_CHROOT: 18,
  CAP_MKNOD: 27,
  CAP_AUDIT_WRITE: 29,
  CAP_SETFCAP: 31,
} as const;

export type DefaultCapability = keyof typeof CAPABILITY_NUMBERS;

export const DOCKER_DEFAULT_CAPABILITIES: readonly DefaultCapability[] = Object.keys(
  CAPABILITY_NUMBERS,
) as DefaultCapability[];

export function capabilityNumbers(names: readonly DefaultCapability[]): number[] {
  return names.map((n) => CAPABILITY_NUMBERS[n]);
}
