/** What the network modules share: the daemon's options, the live networks, the store and the lock. */
import { randomBytes } from 'node:crypto';
import type { ContainerEntry } from '../container/container-entry.js';
import type { Logger } from '../drivers/descriptor.js';
import type { NetworkDriver } from '../drivers/network-driver.js';
import type { Mutex } from '../store/index.js';
import type { AddressPool } from './ipam.js';
import type { LiveNetworks } from './live-networks.js';
import type { NetworkStore } from './network-store.js';

/** What the network service needs from the container side. */
export interface ContainerRegistry {
  find(ref: string): ContainerEntry | undefined;
  all(): ContainerEntry[];
  save(entry: ContainerEntry): Promise<void>;
}

export interface NetworksOptions {
  dataRoot: string;
  execRoot: string;
  driver: NetworkDriver;
  /** The default bridge's interface name (`bridge` in daemon.json). */
  bridgeName: string;
  /** `bip`: the default bridge's gateway address with prefix. */
  bip?: string;
  pools?: AddressPool[];
  logger: Logger;
  containers: () => ContainerRegistry;
}

/** What a starting container gets from its networks. */
export interface StartNetworking {
  /** The sandbox to join, or null to share the host's network namespace. */
  namespacePath: string | null;
  hostname: string;
  hosts: string;
  resolvConf: string;
  /** Environment variables from legacy links. */
  env: string[];
}

export interface NetworkContext {
  readonly opts: NetworksOptions;
  readonly networks: LiveNetworks;
  readonly store: NetworkStore;
  /** One lock for every change that hands out or takes back an address. */
  readonly lock: Mutex;
}

/** Endpoint and sandbox ids: 64 hex digits, like Docker's. */
export function randomId(): string {
  return randomBytes(32).toString('hex');
}

/** `container:<ref>` → ref. */
export function containerModeTarget(mode: string): string | undefined {
  return mode.startsWith('container:') ? mode.slice('container:'.length) : undefined;
}

/** The network a mode names: `''` and `default` mean the default bridge. */
export function primaryNetworkName(mode: string): string {
  return mode === '' || mode === 'default' ? 'bridge' : mode;
}
