/**
 * `--sysctl` (`HostConfig.Sysctls`): only kernel parameters that live in a namespace the
 * container owns may be set (runc's validator, with its messages): `net.*` with a private
 * network namespace, the System V IPC and POSIX mqueue ones with a private IPC namespace,
 * `kernel.domainname` with a private UTS namespace. Anything else would change the host.
 */
import { invalidArgument } from '../errors.js';

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** Dotted names of plain components: nothing that could walk out of /proc/sys. */
const SYSCTL_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_@:+-]+)+$/;

export interface SysctlNamespaces {
  /** The container has a network namespace of its own (not `--network host`). */
  privateNetwork: boolean;
  /** The container has an IPC namespace of its own (not `--ipc host`). */
  privateIpc: boolean;
  privateUts: boolean;
}

/** Docker's default sysctls for a container with its own network namespace (moby oci_linux.go). */
export const DEFAULT_NETWORK_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.ping_group_range': '0 2147483647',
  'net.ipv4.ip_unprivileged_port_start': '0',
};

export function validateSysctls(
  sysctls: Record<string, string> | null | undefined,
  ns: SysctlNamespaces,
): void {
  for (const [key, value] of Object.entries(sysctls ?? {})) {
    if (!SYSCTL_NAME.test(key) || key.split('.').some((c) => c === '..'))
      throw invalidArgument(`sysctl ${JSON.stringify(key)} is not a valid kernel parameter name`);
    if (value.includes('\0') || value.includes('\n'))
      throw invalidArgument(`sysctl ${JSON.stringify(key)}: the value must be a single line`);
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
      if (!ns.privateIpc)
        throw invalidArgument(`sysctl ${JSON.stringify(key)} is not allowed in the hosts ipc namespace`);
      continue;
    }
    if (key.startsWith('net.')) {
      if (!ns.privateNetwork)
        throw invalidArgument(`sysctl ${JSON.stringify(key)} is not allowed in the hosts network namespace`);
      continue;
    }
    if (ns.privateUts && key === 'kernel.domainname') continue;
    if (ns.privateUts && key === 'kernel.hostname')
      throw invalidArgument(
        `sysctl ${JSON.stringify(key)} is not allowed as it conflicts with the OCI "hostname" field`,
      );
    throw invalidArgument(`sysctl ${JSON.stringify(key)} is not in a separate kernel namespace`);
  }
}
