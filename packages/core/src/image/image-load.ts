/**
 * `docker load` (moby's tarexport `Load`): an image archive in Docker's layout (`manifest.json`,
 * old or Docker 25+ paths) or the OCI image layout (`index.json`), plain or compressed, with
 * plain or compressed layers, one or several images, each with any number of tags.
 *
 * It happens in four steps, and a failure at any of them leaves the stores as they were:
 * 1. the archive is spooled to a private directory under the data root (see archive-spool.ts
 *    for why), blob digests checked on the way;
 * 2. every index, config and layer reference is read and checked (sizes capped, digests and
 *    paths validated) before anything is stored;
 * 3. missing layers are applied, each checked against its diff id before it is committed
 *    (layers already present are reused); the layers are held by this load until step 4.
 *    Where the storage driver allows it, a layer was already applied during step 1, while the
 *    archive arrived (load-speculation.ts), and is only moved onto its parent here;
 * 4. images and tags are created under the image service's lock, and undone if any fails.
 * Whatever layers no image took are freed when this load lets go of them; the spool is removed
 * on every path.
 */
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from '../drivers/descriptor.js';
import { invalidArgument, TsdockerError } from '../errors.js';
import type { ProgressMessage, ProgressSink } from '../services.js';
import { MANIFEST_FILE, readDockerManifest } from './archive-manifest.js';
import { ArchiveSpool, type SpooledFile } from './archive-spool.js';
import { createChainId } from './chain-id.js';
import { type Digest, digestHex, sha256Digest as sha256Of } from './digest.js';
import type { HistoryEntry, ImageConfig } from './image-config.js';
import type { ImageStore } from './image-store.js';
import type { LayerHandle, LayerStore } from './layer-store.js';
import type { LoadableImage } from './load-plan.js';
import { LoadSpeculation } from './load-speculation.js';
import { OCI_INDEX_FILE, readOciLayout } from './oci-layout.js';
import type { Platform } from './platform.js';
import { familiarString, type NamedReference } from './reference.js';
import type { ReferenceStore } from './reference-store.js';

export interface LoadParams {
  /** The archive. It is read to the end unless the load fails. */
  source: Readable;
  /** No `Loading layer` progress (the CLI sends quiet=1 when its output is not a terminal). */
  quiet?: boolean;
  /** Only images for this platform are loaded. */
  platform?: Platform;
  progress?: ProgressSink;
}

export interface LoadContext {
  layers: LayerStore;
  images: ImageStore;
  references: ReferenceStore;
  logger: Logger;
  /** Runs `fn` under the image service's lock (tags, deletes and imports are serialised there). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Reports that image `id` was loaded (moby's `load` event). */
  loaded(id: Digest): void;
}

export async function loadImages(ctx: LoadContext, params: LoadParams): Promise<void> {
  if (typeof params.source?.pipe !== 'function') throw invalidArgument('load needs the archive as a stream');
  const progress = params.progress ?? (() => {});
  const scratch = await ctx.layers.makeScratchDir('load');
  const ahead = LoadSpeculation.for(ctx.layers, ctx.logger);
  try {
    const spool = await ArchiveSpool.fill(params.source, scratch, ahead?.follower);
    const images = await readArchive(spool, params.platform);
    if (ahead) ahead.keepOnly(await layerFilesToApply(ctx.layers, images));
    const held = new Map<Digest, LayerHandle>();
    try {
      for (const image of images) await storeLayers(ctx, image, held, params.quiet ? null : progress, ahead);
      const lines = await ctx.exclusive(() => createImages(ctx, images));
      for (const line of lines) progress({ stream: line });
    } finally {
      // The images hold their layers now; what no image took goes.
      for (const handle of held.values()) {
        await handle.release().catch((err: unknown) => {
          ctx.logger.warn('could not release a layer after a load', {
            chainId: handle.chainId,
            error: String(err),
          });
        });
      }
    }
  } finally {
    // Before the spool goes: unfinished ones still read from it.
    await ahead?.discardAll();
    await rm(scratch, { recursive: true, force: true }).catch((err: unknown) => {
      ctx.logger.warn('could not remove the load spool', { dir: scratch, error: String(err) });
    });
  }
}

/** moby reads `manifest.json`; an OCI-only archive (no manifest.json) is read from `index.json`. */
async function readArchive(spool: ArchiveSpool, platform?: Platform): Promise<LoadableImage[]> {
  const manifest = spool.find(MANIFEST_FILE, MANIFEST_FILE);
  if (manifest) return readDockerManifest(spool, manifest, platform);
  const index = spool.find(OCI_INDEX_FILE, OCI_INDEX_FILE);
  if (index) return readOciLayout(spool, index, platform);
  throw invalidArgument(
    `invalid archive: it has neither ${MANIFEST_FILE} (a docker save archive) nor ${OCI_INDEX_FILE} (an OCI image layout)`,
  );
}

/**
 * The spool files of the layers this load will apply: every image's layers but those the store
 * has already (with their tar). The others' early application can stop.
 */
async function layerFilesToApply(layers: LayerStore, images: LoadableImage[]): Promise<Set<string>> {
  const files = new Set<string>();
  for (const image of images) {
    let below: Digest | null = null;
    for (const [i, diffId] of image.config.rootfs.diff_ids.entries()) {
      const chainId = createChainId(below, diffId);
      const stored = layers.has(chainId) && (await layers.layerTar(chainId).catch(() => null)) !== null;
      if (!stored) files.add((image.layers[i] as SpooledFile).file);
      below = chainId;
    }
  }
  return files;
}

/** Applies the image's missing layers, base first, and holds every layer of it in `held`. */
async function storeLayers(
  ctx: LoadContext,
  image: LoadableImage,
  held: Map<Digest, LayerHandle>,
  progress: ProgressSink | null,
  ahead: LoadSpeculation | null,
): Promise<void> {
  let below: Digest | null = null;
  for (const [i, diffId] of image.config.rootfs.diff_ids.entries()) {
    const chainId = createChainId(below, diffId);
    if (!held.has(chainId)) {
      const file = image.layers[i] as SpooledFile;
      await storeLayer(ctx, { index: i, diffId, chainId, below, file }, held, progress, ahead);
    }
    below = chainId;
  }
}

async function storeLayer(
  ctx: LoadContext,
  layer: { index: number; diffId: Digest; chainId: Digest; below: Digest | null; file: SpooledFile },
  held: Map<Digest, LayerHandle>,
  progress: ProgressSink | null,
  ahead: LoadSpeculation | null,
): Promise<void> {
  const existing = tryAcquire(ctx.layers, layer.chainId);
  if (existing) {
    held.set(layer.chainId, existing);
    // A layer stored before layer tars were kept is applied again, which gives it its tar.
    if ((await ctx.layers.layerTar(layer.chainId)) !== null) return;
  }
  const verify = (actual: Digest) => {
    if (actual !== layer.diffId) {
      throw invalidArgument(
        `invalid diffID for layer ${layer.index}: expected "${layer.diffId}", got "${actual}"`,
      );
    }
  };
  const prepared = await ahead?.take(layer.file.file, layer.diffId);
  let handle: LayerHandle;
  if (prepared) {
    handle = await ctx.layers.commitPrepared(prepared, layer.below, { verify });
    progress?.(layerProgressLine(layer.diffId, layer.file.size, layer.file.size));
  } else {
    handle = await ctx.layers.registerFile(layer.file.file, layer.below, {
      verify,
      onRead: progress ? layerProgress(progress, layer.diffId, layer.file.size) : undefined,
      // Blobs (and layers followed while spooled) were hashed then; a plain one needs no second pass.
      fileDigest: layer.file.digest ?? undefined,
    });
  }
  if (existing) await handle.release();
  else held.set(layer.chainId, handle);
}

function tryAcquire(layers: LayerStore, chainId: Digest): LayerHandle | null {
  try {
    return layers.acquire(chainId);
  } catch (err) {
    if (TsdockerError.is(err, 'not-found')) return null;
    throw err;
  }
}

/** moby's `Loading layer` progress messages, about every 2% of the layer file. */
function layerProgress(progress: ProgressSink, diffId: Digest, total: number): (bytes: number) => void {
  const step = Math.max(1, Math.floor(total / 50));
  let last = -1;
  return (current) => {
    if (current !== total && last >= 0 && current - last < step) return;
    last = current;
    progress(layerProgressLine(diffId, current, total));
  };
}

function layerProgressLine(diffId: Digest, current: number, total: number): ProgressMessage {
  return {
    status: 'Loading layer',
    progressDetail: { current, total },
    progress: progressBar(current, total),
    id: digestHex(diffId).slice(0, 12),
  };
}

/** Go's units.HumanSize: 4 significant digits, decimal units. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}

/** moby's JSONProgress.String(): a 50-column bar and the byte counts. */
function progressBar(current: number, total: number): string {
  const filled = Math.min(50, Math.floor((Math.floor((current / total) * 100) || 0) / 2));
  const bar = `[${'='.repeat(filled)}>${' '.repeat(Math.max(0, 50 - filled))}]`;
  return `${bar} ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/**
 * moby's `checkValidParent`: the child's history is the parent's plus one entry (or both have
 * none).
 */
function isValidParent(child: ImageConfig, parent: ImageConfig): boolean {
  const c: HistoryEntry[] = child.history ?? [];
  const p: HistoryEntry[] = parent.history ?? [];
  if (c.length === 0 && p.length === 0) return true;
  if (c.length - p.length !== 1) return false;
  return p.every((entry, i) => JSON.stringify(entry) === JSON.stringify(c[i]));
}

/** Parents before children (stable otherwise), so a child can be created with its parent link. */
function parentsFirst(images: LoadableImage[]): LoadableImage[] {
  const idOf = new Map(images.map((img) => [img, sha256Of(img.configRaw)]));
  const pending = [...images];
  const ordered: LoadableImage[] = [];
  while (pending.length > 0) {
    const waiting = new Set(pending.map((img) => idOf.get(img)));
    const index = pending.findIndex(
      (img) => !img.parent || !waiting.has(img.parent) || img.parent === idOf.get(img),
    );
    ordered.push(...pending.splice(index === -1 ? 0 : index, 1));
  }
  return ordered;
}

/**
 * Creates the images and points their tags at them; undoes everything on failure. Returns the
 * `stream` lines moby prints: `Loaded image: <ref>` per tag, and the `Loaded image ID:` lines
 * when the last image had no tag (moby resets its tag count per image).
 */
async function createImages(ctx: LoadContext, images: LoadableImage[]): Promise<string[]> {
  const created: Digest[] = [];
  const retagged: Array<{ ref: NamedReference; previous: Digest | undefined }> = [];
  const lines: string[] = [];
  const archiveIds = new Set(images.map((img) => sha256Of(img.configRaw)));
  const loaded: Digest[] = [];
  let idLines = '';
  let tagCount = 0;
  try {
    for (const image of parentsFirst(images)) {
      const id = sha256Of(image.configRaw);
      const parentEntry =
        image.parent && image.parent !== id && archiveIds.has(image.parent)
          ? ctx.images.get(image.parent)
          : undefined;
      const parent = parentEntry && isValidParent(image.config, parentEntry.config) ? parentEntry.id : null;
      const result = await ctx.images.create(image.configRaw, parent);
      if (result.created) created.push(result.id);
      loaded.push(result.id);
      idLines += `Loaded image ID: ${result.id}\n`;
      tagCount = 0;
      for (const ref of image.tags) {
        const previous = ctx.references.get(ref);
        if (previous !== undefined && previous !== result.id) {
          lines.push(
            `The image ${familiarString(ref)} already exists, renaming the old one with ID ${previous} to empty string\n`,
          );
        }
        await ctx.references.addTag(ref, result.id, true);
        retagged.push({ ref, previous });
        lines.push(`Loaded image: ${familiarString(ref)}\n`);
        tagCount++;
      }
    }
  } catch (err) {
    for (const { ref, previous } of retagged.reverse()) {
      const undo = previous ? ctx.references.addTag(ref, previous, true) : ctx.references.delete(ref);
      await undo.catch((e: unknown) => {
        ctx.logger.error('could not undo a tag of a failed load', {
          ref: familiarString(ref),
          error: String(e),
        });
      });
    }
    for (const id of created.reverse()) {
      await ctx.images.delete(id).catch((e: unknown) => {
        ctx.logger.error('could not remove an image of a failed load', { id, error: String(e) });
      });
    }
    throw err;
  }
  if (tagCount === 0 && idLines !== '') lines.push(idLines);
  for (const id of loaded) ctx.loaded(id);
  return lines;
}
