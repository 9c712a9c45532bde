/**
 * Images on a graph driver (moby's graphdriver-backed `images.ImageService`): the layer store,
 * the content-addressed image store and the reference store under
 * `<data-root>/image/<driver>/`, and the `ImageService` operations the Engine API serves.
 *
 * It also gives the container code what it needs from images: `resolveImage` and the
 * read-write layer operations (`createRWLayer`, `mountRWLayer`, …).
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { borrow } from '../archive/borrowed-stream.js';
import type { Logger } from '../drivers/descriptor.js';
import type { Change, DiffGraphDriver } from '../drivers/graph-driver.js';
import { internal, invalidArgument, notFound, unavailable } from '../errors.js';
import type { Filters, ImageImportParams, ImageService, ProgressSink } from '../services.js';
import { Mutex } from '../store/mutex.js';
import { type Digest, isSha256Digest } from './digest.js';
import type { ImageConfig } from './image-config.js';
import { type DeleteRecord, deleteImage, type ImageUser } from './image-delete.js';
import { matchesImage, matchingReferences, parseImageListFilters } from './image-filters.js';
import { importImage } from './image-import.js';
import { loadImages } from './image-load.js';
import { saveImages } from './image-save.js';
import type { ImageEntry } from './image-store.js';
import { ImageStore } from './image-store.js';
import { historyView, imageSize, inspectView, splitReferences, summaryView } from './image-views.js';
import { LayerStore } from './layer-store.js';
import type { Platform } from './platform.js';
import {
  familiarName,
  familiarString,
  type NamedReference,
  parseAnyReference,
  repoTagReference,
  tagNameOnly,
} from './reference.js';
import { ReferenceStore } from './reference-store.js';
import { nowRfc3339Nano } from './timestamps.js';

export type { ImageUser } from './image-delete.js';

/** An image event, for `docker events` (moby's LogImageEvent: actor id and `name` attribute). */
export interface ImageEvent {
  action: 'import' | 'tag' | 'untag' | 'delete' | 'load' | 'save';
  /** The image id. */
  id: string;
  /** The reference concerned (`busybox:latest`), or the image id. */
  name: string;
}

export interface ImageServiceOptions {
  dataRoot: string;
  graphDriver: DiffGraphDriver;
  logger: Logger;
  /**
   * Which container uses image `imageId`, if any. Return a running container when there is one
   * (a running user blocks even a forced delete). A plain string is a container id and is taken
   * as a stopped container.
   */
  isImageInUse?: (imageId: string) => ImageUser | string | null;
  /** Receives image events (import, tag, untag, delete). */
  onEvent?: (event: ImageEvent) => void;
  /** The engine version written as `docker_version` into configs made here (import). */
  engineVersion?: string;
}

/** What containers get from `resolveImage`. */
export interface ImageRecord {
  /** `sha256:…` image id. */
  id: string;
  /** The parsed image config JSON (`config.config` is the run config: Cmd, Env, …). */
  config: ImageConfig;
  /** Chain id of the top layer, or null for an image without layers. */
  topChainId: string | null;
}

const DRIVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class GraphImageService implements ImageService {
  readonly layers: LayerStore;
  readonly images: ImageStore;
  readonly references: ReferenceStore;
  readonly #options: ImageServiceOptions;
  readonly #logger: Logger;
  /** Serialises operations that span stores (tag, delete, an import's final step). */
  readonly #lock = new Mutex();
  #opening: Promise<void> | null = null;
  #open = false;

  constructor(options: ImageServiceOptions) {
    const driverName = options.graphDriver.name;
    if (!DRIVER_NAME.test(driverName))
      throw invalidArgument(`invalid graph driver name ${JSON.stringify(driverName)}`);
    const root = join(options.dataRoot, 'image', driverName);
    this.#options = options;
    this.#logger = options.logger;
    this.layers = new LayerStore({
      root: join(root, 'layerdb'),
      driver: options.graphDriver,
      logger: options.logger,
    });
    this.images = new ImageStore(join(root, 'imagedb'), this.layers, options.logger);
    this.references = new ReferenceStore(join(root, 'repositories.json'), options.logger);
  }

  /**
   * Restores layers, read-write layers, images and tags from disk. Unreadable records are logged
   * and skipped; unreferenced layers are removed only when every record could be read (a
   * skipped image may still need its layers once repaired). Idempotent.
   */
  open(): Promise<void> {
    this.#opening ??= (async () => {
      const layerReport = await this.layers.open();
      const imageReport = await this.images.open();
      await this.references.open();
      if (layerReport.bad.length === 0 && imageReport.bad.length === 0) await this.layers.collectGarbage();
      else this.#logger.warn('keeping unreferenced layers: some image store records could not be read');
      this.#open = true;
    })();
    return this.#opening;
  }

  #ready(): void {
    if (!this.#open) throw unavailable('the image store is not open');
  }

  #emit(action: ImageEvent['action'], id: string, name: string = id): void {
    try {
      this.#options.onEvent?.({ action, id, name });
    } catch (err) {
      this.#logger.warn('image event listener failed', { action, id, error: String(err) });
    }
  }

  #userOf(imageId: Digest): ImageUser | null {
    const user = this.#options.isImageInUse?.(imageId) ?? null;
    if (user === null) return null;
    return typeof user === 'string' ? { id: user, running: false } : user;
  }

  /**
   * moby's `GetImage`: an id (`sha256:<hex>` or 64 hex), then a reference by name, then a unique
   * id prefix. Not found is `No such image: <familiar ref with tag>`.
   */
  lookup(refOrId: string): ImageEntry {
    this.#ready();
    if (typeof refOrId !== 'string' || refOrId.trim() === '')
      throw invalidArgument('image name cannot be blank');
    const ref = parseAnyReference(refOrId);
    if (ref.kind === 'digest') {
      const entry = isSha256Digest(ref.digest) ? this.images.get(ref.digest) : undefined;
      if (entry) return entry;
      throw notFound(`No such image: ${ref.digest}`);
    }
    const id = this.references.get(ref);
    const tagged = id ? this.images.get(id) : undefined;
    if (tagged) return tagged;
    const found = this.images.search(refOrId);
    if (found.status === 'found') {
      const entry = this.images.get(found.id as Digest);
      if (entry) return entry;
    }
    throw notFound(`No such image: ${familiarString(tagNameOnly(ref))}`);
  }

  /** Number of images (for `docker info`). */
  count(): number {
    return this.images.size;
  }

  #tags(entry: ImageEntry): string[] {
    return splitReferences(this.references.references(entry.id)).tags;
  }

  // -------------------------------------------------------------------------------------------
  // ImageService
  // -------------------------------------------------------------------------------------------

  async import(params: ImageImportParams): Promise<{ id: string }> {
    this.#ready();
    return importImage(
      {
        layers: this.layers,
        images: this.images,
        engineVersion: this.#options.engineVersion,
        commit: (raw, ref) =>
          this.#lock.run(async () => {
            const { id, created } = await this.images.create(raw);
            try {
              if (ref) await this.#tagLocked(id, ref);
            } catch (err) {
              if (created) await this.images.delete(id).catch(() => []);
              throw err;
            }
            this.#emit('import', id);
            return id;
          }),
      },
      params,
    );
  }

  async list(opts: {
    all: boolean;
    filters: Filters;
    digests?: boolean;
  }): Promise<Record<string, unknown>[]> {
    this.#ready();
    const filter = parseImageListFilters(opts.filters ?? {}, (ref) => this.lookup(ref).createdNs);
    const candidates = filter.danglingOnly
      ? this.images.all().filter((e) => this.images.children(e.id).length === 0)
      : this.images.all();
    const rows: Array<{ entry: ImageEntry; view: Record<string, unknown> }> = [];
    for (const entry of candidates) {
      if (!matchesImage(filter, entry)) continue;
      const refs = splitReferences(matchingReferences(filter, this.references.references(entry.id)));
      if (refs.tags.length === 0 && refs.digests.length === 0) {
        // Untagged: intermediate images only with `all`; dangling=false and reference hide it.
        if (!opts.all && this.images.children(entry.id).length > 0) continue;
        if (filter.danglingGiven && !filter.danglingOnly) continue;
        if (filter.references.length > 0) continue;
      } else if (filter.danglingOnly && refs.tags.length > 0) {
        continue;
      }
      rows.push({ entry, view: summaryView(entry, refs, imageSize(entry, this.layers)) });
    }
    // Newest first (moby sorts on whole seconds; the full timestamp keeps ties stable).
    rows.sort((a, b) => {
      const x = a.entry.createdNs ?? 0n;
      const y = b.entry.createdNs ?? 0n;
      return x === y ? 0 : x > y ? -1 : 1;
    });
    return rows.map((r) => r.view);
  }

  async inspect(ref: string): Promise<Record<string, unknown>> {
    const entry = this.lookup(ref);
    const refs = splitReferences(this.references.references(entry.id));
    return inspectView(entry, refs, imageSize(entry, this.layers), this.layers.driverName);
  }

  async history(ref: string): Promise<Record<string, unknown>[]> {
    const entry = this.lookup(ref);
    return historyView(
      entry,
      this.layers,
      (e) => (e.parent ? this.images.get(e.parent) : undefined),
      (e) => this.#tags(e),
    );
  }

  async tag(ref: string, repo: string, tag?: string): Promise<void> {
    this.#ready();
    if (typeof repo !== 'string' || repo === '') {
      throw invalidArgument('repository name must have at least one component');
    }
    if (tag !== undefined && typeof tag !== 'string') throw invalidArgument('tag must be a string');
    const target = repoTagReference(repo, tag || undefined) as NamedReference;
    if (familiarName(target) === 'sha256') {
      throw invalidArgument('refusing to create an ambiguous tag using digest algorithm as name');
    }
    await this.#lock.run(async () => {
      const entry = this.lookup(ref);
      await this.#tagLocked(entry.id, target);
    });
  }

  /** moby's TagImage: the tag moves to `id` even if it pointed elsewhere; LastTagTime is set. */
  async #tagLocked(id: Digest, ref: NamedReference): Promise<void> {
    await this.references.addTag(ref, id, true);
    await this.images.setLastUpdated(id, nowRfc3339Nano());
    this.#emit('tag', id, familiarString(ref));
  }

  async remove(ref: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<DeleteRecord[]> {
    this.#ready();
    return this.#lock.run(async () => {
      const entry = this.lookup(ref);
      return deleteImage(
        {
          images: this.images,
          refs: this.references,
          userOf: (id) => this.#userOf(id),
          emit: (action, id) => this.#emit(action, id),
        },
        ref,
        entry.id,
        { force: opts.force === true, prune: opts.noprune !== true },
      );
    });
  }

  /**
   * `docker load`. The request body is borrowed, not owned: when the load fails the caller still
   * has it (to answer before closing the connection).
   */
  async load(params: {
    source: Readable;
    quiet?: boolean;
    platform?: Platform;
    progress?: ProgressSink;
  }): Promise<void> {
    this.#ready();
    if (typeof params?.source?.pipe !== 'function')
      throw invalidArgument('load needs the archive as a stream');
    const { input, giveBack } = borrow(params.source);
    try {
      await loadImages(
        {
          layers: this.layers,
          images: this.images,
          references: this.references,
          logger: this.#logger,
          exclusive: (fn) => this.#lock.run(fn),
          loaded: (id) => this.#emit('load', id),
        },
        { ...params, source: input },
      );
    } catch (err) {
      giveBack();
      throw err;
    }
  }

  /** `docker save`: the images `names` select, as one archive stream. */
  async save(params: { names: string[]; platform?: Platform }): Promise<Readable> {
    this.#ready();
    return this.#lock.run(() =>
      saveImages(
        {
          layers: this.layers,
          images: this.images,
          references: this.references,
          logger: this.#logger,
          saved: (id) => this.#emit('save', id),
        },
        params,
      ),
    );
  }

  // -------------------------------------------------------------------------------------------
  // For containers
  // -------------------------------------------------------------------------------------------

  /** The image `ref` names (as `lookup`), for creating a container from it. */
  async resolveImage(ref: string): Promise<ImageRecord> {
    const entry = this.lookup(ref);
    return { id: entry.id, config: entry.config, topChainId: entry.topChainId };
  }

  /** `parent` is an image id (its layers are used) or a layer chain id; null for an empty rootfs. */
  #rwParent(parent: string | null): Digest | null {
    if (parent === null) return null;
    if (typeof parent !== 'string' || !isSha256Digest(parent)) {
      throw invalidArgument(`invalid image or layer id ${JSON.stringify(parent)}`);
    }
    const image = this.images.get(parent);
    if (image) return image.topChainId;
    if (this.layers.has(parent)) return parent;
    throw notFound(`No such image: ${parent}`);
  }

  /**
   * Creates container `containerId`'s read-write layer on `parent`: an image id or the chain id
   * of a layer (null: empty rootfs). `init` fills the init layer below the writable one.
   * The layer survives daemon restarts until `removeRWLayer`.
   */
  async createRWLayer(
    containerId: string,
    parent: string | null,
    init: (initRoot: string) => Promise<void>,
  ): Promise<void> {
    this.#ready();
    await this.layers.createRW(containerId, this.#rwParent(parent), init);
  }

  /** Mounts the container's rootfs and returns its path; pair each call with `unmountRWLayer`. */
  async mountRWLayer(containerId: string): Promise<string> {
    this.#ready();
    return this.layers.mountRW(containerId);
  }

  async unmountRWLayer(containerId: string): Promise<void> {
    this.#ready();
    await this.layers.unmountRW(containerId);
  }

  /** Deletes the container's read-write layer (and image layers nothing else holds). */
  async removeRWLayer(containerId: string): Promise<void> {
    this.#ready();
    await this.layers.removeRW(containerId);
  }

  rwLayerExists(containerId: string): boolean {
    this.#ready();
    return this.layers.hasRW(containerId);
  }

  /** `docker diff`. */
  async rwLayerChanges(containerId: string): Promise<Change[]> {
    this.#ready();
    return this.layers.rwChanges(containerId);
  }

  /** A tar of the container's changes (what `docker commit` stores as a layer). */
  async rwLayerDiff(containerId: string): Promise<Readable> {
    this.#ready();
    return this.layers.rwDiff(containerId);
  }

  /** `SizeRw` / `SizeRootFs`. */
  async rwLayerSize(containerId: string): Promise<{ sizeRw: number; sizeRootFs: number }> {
    this.#ready();
    return this.layers.rwSize(containerId);
  }
}

/** The name the daemon uses for the image service type. */
export type ImageServiceImpl = GraphImageService;

/** Builds the image service; call `open()` before use. */
export function createImageService(options: ImageServiceOptions): GraphImageService {
  if (!options || typeof options.dataRoot !== 'string' || options.dataRoot === '') {
    throw internal('createImageService needs a dataRoot');
  }
  return new GraphImageService(options);
}
