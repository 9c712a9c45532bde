/**
 * The daemon's container store (the seed's `contStore`): containers by id, by name and by unique
 * id prefix, with Docker's lookup order — full id, then name, then id prefix. Checks and updates
 * run synchronously, so a name can never be reserved twice.
 */
import { conflict, notFound } from '../errors.js';
import { IdIndex } from '../store/index.js';
import type { ContainerEntry } from './container-entry.js';

export class ContainerStore {
  private readonly byId = new Map<string, ContainerEntry>();
  private readonly names = new Map<string, string>();
  private readonly ids = new IdIndex();

  /** Reserves `name` (with leading slash) for `id`; Docker's 409 when taken. */
  reserveName(name: string, id: string): void {
    const owner = this.names.get(name);
    if (owner !== undefined && owner !== id) {
      throw conflict(
        `Conflict. The container name "${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.names.set(name, id);
  }

  releaseName(name: string): void {
    this.names.delete(name);
  }

  nameTaken(name: string): boolean {
    return this.names.has(name);
  }

  add(entry: ContainerEntry): void {
    if (this.byId.has(entry.id)) throw conflict(`container ${entry.id} is already registered`);
    this.reserveName(entry.name, entry.id);
    this.byId.set(entry.id, entry);
    this.ids.add(entry.id);
  }

  delete(entry: ContainerEntry): void {
    this.byId.delete(entry.id);
    this.ids.delete(entry.id);
    if (this.names.get(entry.name) === entry.id) this.names.delete(entry.name);
  }

  find(ref: string): ContainerEntry | undefined {
    if (!ref) return undefined;
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.names.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.byId.get(byName);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const id = this.ids.get(ref);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** Docker's 404 `No such container: <ref as given>`. */
  get(ref: string): ContainerEntry {
    const entry = this.find(ref);
    if (!entry) throw notFound(`No such container: ${ref}`);
    return entry;
  }

  all(): ContainerEntry[] {
    return [...this.byId.values()];
  }
}
