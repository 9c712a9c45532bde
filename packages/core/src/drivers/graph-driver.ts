/**
 * Layer storage, after moby's graphdriver. A layer is a directory tree identified by an opaque id
 * (the daemon uses cache ids: random 64-hex strings); each layer but a base has a parent. Images
 * are stacks of read-only layers; each container gets one read-write layer on top.
 *
 * Lifecycle: `create`/`createReadWrite` make a layer from its parent; `get` mounts it (reference
 * counted: every `get` needs a matching `put`) and returns the path of its full filesystem;
 * `remove` deletes it once unused. `cleanup` releases everything at daemon shutdown.
 *
 * Only the base operations are required. A driver that does not implement `diff`, `changes`,
 * `applyDiff` or `diffSize` gets core's naive versions (see `withNaiveDiff`), which work from
 * `get` alone by comparing directory trees and extracting tars.
 */
import type { Readable } from 'node:stream';

export interface CreateLayerOptions {
  /** Reserved for drivers with per-layer options (quota, mount label). */
  storageOpt?: Record<string, string>;
}

/** One entry of `docker diff`: kind 0 = modified, 1 = added, 2 = deleted (Docker's numbering). */
export interface Change {
  path: string;
  kind: 0 | 1 | 2;
}

export interface GraphDriver {
  /** Short name, shown by `docker info` as Storage Driver. */
  readonly name: string;

  /** Makes read-only layer `id` whose initial content is `parent`'s (empty without parent). */
  create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void>;
  /** Like `create`, for a container's writable layer (drivers may lay it out differently). */
  createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void>;
  /** Deletes layer `id`. Removing a missing layer is not an error. */
  remove(id: string): Promise<void>;
  /** Mounts layer `id` (if the driver mounts) and returns the path of its root directory. */
  get(id: string): Promise<string>;
  /** Releases one `get` of layer `id`; the last one unmounts. */
  put(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
  /** Lines for `docker info` (`[["Backing Filesystem","extfs"], …]`). */
  status(): Array<[string, string]>;
  /** Unmounts everything and releases resources; called once at daemon shutdown. Idempotent. */
  cleanup(): Promise<void>;

  /** Optional: a tar stream of what layer `id` changed relative to `parent`, with whiteouts. */
  diff?(id: string, parent: string | null): Promise<Readable>;
  /** Optional: the list of changes of `id` relative to `parent`. */
  changes?(id: string, parent: string | null): Promise<Change[]>;
  /**
   * Optional: extracts a layer tar (with whiteouts) into `id`; returns the layer's size, which
   * `docker history` shows: the tar's regular-file bytes (the naive diff), or the layer
   * directory's size (symlinks counted, hardlinks once: moby's overlay2 native diff).
   */
  applyDiff?(id: string, parent: string | null, diff: Readable): Promise<number>;
  /** Optional: size in bytes of what `id` changed relative to `parent`. */
  diffSize?(id: string, parent: string | null): Promise<number>;
  /**
   * Optional: puts read-only layer `id` on top of `parent` (null: makes it a base layer), as if
   * it had been created there. Only for a layer that is not mounted and has no layer on top of it
   * (a conflict otherwise). A driver offers this only where `applyDiff` writes the same thing
   * whatever the parent holds (overlay2 with its native diff: the layer's own directory keeps
   * only its changes); `docker load` then applies a layer while the archive is still arriving,
   * before it says which layer is below. Drivers that copy the parent (vfs) must not offer it.
   */
  setParent?(id: string, parent: string | null): Promise<void>;
}

/** A graph driver with the diff operations filled in (by the driver itself or by core). */
export type DiffGraphDriver = GraphDriver &
  Required<Pick<GraphDriver, 'diff' | 'changes' | 'applyDiff' | 'diffSize'>>;
