/** ContainerSpecs for driver tests, with Docker's defaults from core's oci-defaults. */
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultDevices,
  defaultMounts,
} from '../container/oci-defaults.js';
import type { ContainerSpec, MountSpec, NamespaceSpec, Resources, UserSpec } from '../drivers/exec-driver.js';

/** A fresh 64-hex container id, as Docker makes them. */
export function randomContainerId(): string {
  return randomBytes(32).toString('hex');
}

export interface TestSpecOptions {
  id: string;
  rootfs: string;
  args: string[];
  /** Added after PATH and HOSTNAME. */
  env?: string[];
  cwd?: string;
  user?: Partial<UserSpec>;
  terminal?: boolean;
  consoleSize?: { rows: number; cols: number };
  openStdin?: boolean;
  hostname?: string;
  domainname?: string;
  readonlyRootfs?: boolean;
  resources?: Resources;
  /** Appended after the default mounts. */
  mounts?: MountSpec[];
  /** Defaults to new pid, network, mount, ipc and uts namespaces. */
  namespaces?: NamespaceSpec[];
}

export function buildTestSpec(o: TestSpecOptions): ContainerSpec {
  const hostname = o.hostname ?? o.id.slice(0, 12);
  return {
    id: o.id,
    rootfs: o.rootfs,
    readonlyRootfs: o.readonlyRootfs ?? false,
    hostname,
    domainname: o.domainname ?? '',
    process: {
      args: o.args,
      env: [
        DEFAULT_PATH_ENV,
        `HOSTNAME=${hostname}`,
        ...(o.terminal ? ['TERM=xterm'] : []),
        ...(o.env ?? []),
      ],
      cwd: o.cwd ?? '/',
      user: { uid: o.user?.uid ?? 0, gid: o.user?.gid ?? 0, additionalGids: o.user?.additionalGids ?? [] },
      terminal: o.terminal ?? false,
      ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
      openStdin: o.openStdin ?? false,
    },
    mounts: [...defaultMounts({ readonlyRootfs: o.readonlyRootfs }), ...(o.mounts ?? [])],
    devices: defaultDevices(),
    namespaces: o.namespaces ?? [
      { type: 'pid' },
      { type: 'network' },
      { type: 'mount' },
      { type: 'ipc' },
      { type: 'uts' },
    ],
    resources: o.resources ?? {},
    maskedPaths: [...DEFAULT_MASKED_PATHS],
    readonlyPaths: [...DEFAULT_READONLY_PATHS],
  };
}
