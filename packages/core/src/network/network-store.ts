/**
 * The network store: one JSON file per network under `<data-root>/network/`, holding Docker's
 * network object and the endpoints (address, MAC, owner) that are live on it. Written atomically
 * on every change, so after a crash the daemon knows every address it had handed out.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../drivers/descriptor.js';
import { readJsonFile, removeStaleTempFiles, writeJsonAtomic } from '../store/index.js';

/** Docker's network object as `GET /networks/{id}` shows it (without `Containers`). */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  /** `bridge`, or `host` / `null` for the two pseudo-networks. */
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: {
    Driver: string;
    Options: Record<string, string> | null;
    Config: Array<{ Subnet: string; Gateway: string }>;
  };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface EndpointRecord {
  id: string;
  containerId: string;
  /** Container name without the slash, for `network inspect`'s Containers. */
  name: string;
  /** Address with prefix length. */
  address: string;
  macAddress: string;
  /** Names this endpoint answers to in the network's DNS (name, short id, aliases). */
  dnsNames: string[];
}

export interface StoredNetwork {
  network: NetworkRecord;
  endpoints: Record<string, EndpointRecord>;
}

export class NetworkStore {
  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  private path(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  async load(): Promise<StoredNetwork[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await removeStaleTempFiles(this.dir).catch(() => {});
    const out: StoredNetwork[] = [];
    for (const file of await readdir(this.dir)) {
      const match = /^([0-9a-f]{64})\.json$/.exec(file);
      if (!match) continue;
      try {
        const stored = await readJsonFile<StoredNetwork>(join(this.dir, file));
        if (stored.network?.Id !== match[1]) throw new Error('id mismatch');
        stored.endpoints ??= {};
        out.push(stored);
      } catch (err) {
        this.logger.warn('skipping unreadable network state', { file, error: String(err) });
      }
    }
    return out;
  }

  save(stored: StoredNetwork): Promise<void> {
    return writeJsonAtomic(this.path(stored.network.Id), stored, 0o600);
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }
}
