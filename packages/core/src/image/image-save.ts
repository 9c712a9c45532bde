/**
 * `docker save` (moby 25+'s tarexport `Save`): the named images as one tar in the layout moby
 * writes, which both moby (`manifest.json`) and OCI tools (`index.json`) read:
 *
 *   blobs/sha256/<hex>   image configs (exact bytes), OCI manifests, layers (uncompressed, by diff id)
 *   index.json           OCI index: one manifest descriptor per tag (an untagged image gets one too)
 *   manifest.json        Docker's index: Config, RepoTags, Layers paths into blobs/
 *   oci-layout           {"imageLayoutVersion": "1.0.0"}
 *   repositories         legacy name → tag → top layer, when something is tagged
 *
 * Layers are the tars kept by the layer store, byte for byte, so every layer's sha256 is its diff
 * id and the archive loads back to the same image ids; the hash is checked again while streaming.
 * Every name is resolved and every layer tar found before the stream starts, so a bad request is
 * an ordinary error; the layers are held until the stream is over. Entries come in name order with
 * fixed times, so saving the same images twice gives the same bytes. moby's vestigial per-layer v1
 * JSON blobs (which nothing reads) are not written.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Header, Pack } from 'tar-stream';
import { pack as tarPack } from 'tar-stream';
import { drained } from '../archive/tar-writer.js';
import type { Logger } from '../drivers/descriptor.js';
import { internal, invalidArgument, notFound } from '../errors.js';
import {
  encodeDockerManifest,
  encodeRepositories,
  MANIFEST_FILE,
  type ManifestItem,
  REPOSITORIES_FILE,
} from './archive-manifest.js';
import { chainIdsOf } from './chain-id.js';
import { type Digest, digestHex, sha256Digest } from './digest.js';
import type { GoJson } from './go-json.js';
import type { ImageEntry, ImageStore } from './image-store.js';
import type { LayerHandle, LayerStore } from './layer-store.js';
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  encodeDescriptor,
  encodeOciIndex,
  encodeOciManifest,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_MANIFEST,
  OCI_INDEX_FILE,
  OCI_LAYOUT_CONTENT,
  OCI_LAYOUT_FILE,
} from './oci-layout.js';
import type { Platform } from './platform.js';
import {
  familiarName,
  familiarString,
  type NamedReference,
  parseAnyReference,
  refString,
  tagNameOnly,
} from './reference.js';
import type { ReferenceStore } from './reference-store.js';

export interface SaveContext {
  layers: LayerStore;
  images: ImageStore;
  references: ReferenceStore;
  logger: Logger;
  /** Reports that image `id` was saved (moby's `save` event). */
  saved(id: Digest): void;
}

export interface SaveParams {
  /** As typed: names (all tags of the repository), name:tag, ids and id prefixes. */
  names: string[];
  /** Only images for this platform; another is "not found". */
  platform?: Platform;
}

interface Selected {
  entry: ImageEntry;
  /** Tags to record, in the order first named. */
  refs: NamedReference[];
}

type Blob = { digest: Digest; mtime: Date } & (
  | { kind: 'data'; data: Buffer }
  | { kind: 'layer'; path: string; size: number }
);

const EPOCH = new Date(0);

/** moby's parseNames: what each name means and which tags go with each image. */
function selectImages(ctx: SaveContext, names: readonly string[]): Map<Digest, Selected> {
  const selected = new Map<Digest, Selected>();
  const add = (id: Digest, ref: NamedReference | null) => {
    let item = selected.get(id);
    if (!item) {
      const entry = ctx.images.get(id);
      if (!entry) throw notFound(`No such image: ${id}`);
      item = { entry, refs: [] };
      selected.set(id, item);
    }
    if (!ref || ref.digest !== null) return;
    const tagged = tagNameOnly(ref);
    if (!item.refs.some((r) => refString(r) === refString(tagged))) item.refs.push(tagged);
  };
  const search = (name: string): Digest => {
    const found = ctx.images.search(name);
    if (found.status !== 'found') throw notFound(`No such image: ${name}`);
    return found.id as Digest;
  };
  for (const name of names) {
    if (typeof name !== 'string' || name === '') throw invalidArgument('invalid reference format');
    const ref = parseAnyReference(name);
    if (ref.kind === 'digest') {
      if (!/^sha256:[a-f0-9]{64}$/.test(ref.digest)) throw notFound(`No such image: ${ref.digest}`);
      add(ref.digest as Digest, null);
    } else if (familiarName(ref) === 'sha256') {
      add(search(name), null);
    } else if (ref.tag === null && ref.digest === null) {
      const assocs = ctx.references.referencesByName(ref);
      for (const assoc of assocs) add(assoc.id, assoc.ref);
      if (assocs.length === 0) add(search(name), null);
    } else {
      const id = ctx.references.get(ref);
      if (id === undefined) throw notFound('reference does not exist');
      add(id, ref);
    }
  }
  return selected;
}

const platformText = (p: { os?: string; architecture?: string; variant?: string }) =>
  [p.os, p.architecture, p.variant].filter((part) => part).join('/');

function checkPlatform(item: Selected, wanted: Platform): void {
  const c = item.entry.config;
  const actual = { os: c.os || 'linux', architecture: c.architecture ?? '', variant: c.variant ?? '' };
  if (
    actual.os !== wanted.os ||
    actual.architecture !== wanted.architecture ||
    (wanted.variant !== undefined && actual.variant !== wanted.variant)
  ) {
    throw notFound(
      `image ${item.entry.id} was found but does not match the specified platform: wanted ${platformText(wanted)}, actual: ${platformText(actual)}`,
    );
  }
}

const mtimeOf = (entry: ImageEntry): Date =>
  entry.createdNs === null ? EPOCH : new Date(Number(entry.createdNs / 1_000_000n));

/**
 * Resolves `names`, takes the layers and returns the archive as a stream. Errors before the
 * stream (unknown names, an image without layers, a layer without its kept tar) are thrown.
 */
export async function saveImages(ctx: SaveContext, params: SaveParams): Promise<Readable> {
  if (!Array.isArray(params.names)) throw invalidArgument('names must be a list');
  const selected = selectImages(ctx, params.names);
  const held: LayerHandle[] = [];
  const release = async () => {
    for (const handle of held.splice(0)) {
      await handle.release().catch((err: unknown) => {
        ctx.logger.warn('could not release a layer after a save', {
          chainId: handle.chainId,
          error: String(err),
        });
      });
    }
  };
  try {
    const blobs = new Map<string, Blob>();
    const manifestItems: ManifestItem[] = [];
    const indexEntries: GoJson[] = [];
    const repositories = new Map<string, Map<string, string>>();
    for (const item of selected.values()) {
      if (params.platform) checkPlatform(item, params.platform);
      const { entry } = item;
      const diffIds = entry.config.rootfs.diff_ids;
      if (diffIds.length === 0 || !entry.topChainId) throw internal('empty export - not implemented');
      held.push(ctx.layers.acquire(entry.topChainId));
      const mtime = mtimeOf(entry);
      blobs.set(digestHex(entry.id), { kind: 'data', digest: entry.id, data: entry.raw, mtime });

      const layerDescriptors: GoJson[] = [];
      for (const [i, chainId] of chainIdsOf(diffIds).entries()) {
        const diffId = diffIds[i] as Digest;
        const tar = await ctx.layers.layerTar(chainId);
        if (!tar) {
          throw internal(
            `cannot save layer ${diffId}: its tar was not kept (it was stored by an older tsdocker); remove the image and load or import it again`,
          );
        }
        if (!blobs.has(digestHex(diffId)))
          blobs.set(digestHex(diffId), {
            kind: 'layer',
            digest: diffId,
            path: tar.path,
            size: tar.size,
            mtime,
          });
        layerDescriptors.push(
          encodeDescriptor({ mediaType: MEDIA_TYPE_OCI_LAYER, digest: diffId, size: tar.size }),
        );
      }

      const platform: Platform = {
        os: entry.config.os || 'linux',
        architecture: entry.config.architecture ?? '',
        ...(entry.config.variant ? { variant: entry.config.variant } : {}),
      };
      const manifest = encodeOciManifest(
        encodeDescriptor({ mediaType: MEDIA_TYPE_OCI_CONFIG, digest: entry.id, size: entry.raw.length }),
        layerDescriptors,
      );
      const manifestDigest = sha256Digest(manifest);
      blobs.set(digestHex(manifestDigest), {
        kind: 'data',
        digest: manifestDigest,
        data: manifest,
        mtime: EPOCH,
      });
      const describe = (annotations?: Record<string, string>) =>
        encodeDescriptor({
          mediaType: MEDIA_TYPE_OCI_MANIFEST,
          digest: manifestDigest,
          size: manifest.length,
          annotations,
          platform,
        });
      if (item.refs.length === 0) indexEntries.push(describe());
      const topHex = digestHex(diffIds[diffIds.length - 1] as Digest);
      for (const ref of item.refs) {
        indexEntries.push(
          describe({ [ANNOTATION_IMAGE_NAME]: refString(ref), [ANNOTATION_REF_NAME]: ref.tag ?? '' }),
        );
        const name = familiarName(ref);
        if (!repositories.has(name)) repositories.set(name, new Map());
        repositories.get(name)?.set(ref.tag ?? '', topHex);
      }
      manifestItems.push({
        configPath: `blobs/sha256/${digestHex(entry.id)}`,
        repoTags: item.refs.map(familiarString),
        layerPaths: diffIds.map((d) => `blobs/sha256/${digestHex(d)}`),
        // moby's validatedParentLinks: only a parent saved in the same archive.
        parent: entry.parent && selected.has(entry.parent) ? entry.parent : undefined,
      });
    }

    const documents: Array<[string, Buffer]> = [
      [OCI_INDEX_FILE, encodeOciIndex(indexEntries)],
      [MANIFEST_FILE, encodeDockerManifest(manifestItems)],
      [OCI_LAYOUT_FILE, Buffer.from(OCI_LAYOUT_CONTENT)],
    ];
    if (repositories.size > 0) documents.push([REPOSITORIES_FILE, encodeRepositories(repositories)]);
    const sortedBlobs = [...blobs.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, b]) => b);

    const out = tarPack();
    writeArchive(out, sortedBlobs, documents)
      .then(
        () => out.finalize(),
        (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => {
        void release();
      });
    for (const id of selected.keys()) ctx.saved(id);
    // Destroying the returned stream destroys the pack, which stops writeArchive.
    return Readable.from(out, { objectMode: false });
  } catch (err) {
    await release();
    throw err;
  }
}

type EntryHeader = Partial<Header> & Pick<Header, 'name'>;

/** Writes the entries; rejects when the reader goes away (the pack is destroyed) or a layer is bad. */
async function writeArchive(out: Pack, blobs: Blob[], documents: Array<[string, Buffer]>): Promise<void> {
  let gone = false;
  out.once('close', () => {
    gone = true;
  });
  const entry = (header: EntryHeader, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      if (gone) return reject(new Error('the archive reader went away'));
      out.entry(header, data, (err) => (err ? reject(err) : resolve()));
    });
  const file = (name: string, size: number, mtime: Date): EntryHeader => ({
    name,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size,
    mtime,
  });

  for (const name of ['blobs/', 'blobs/sha256/'])
    await entry({ name, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: EPOCH }, Buffer.alloc(0));
  for (const blob of blobs) {
    const name = `blobs/sha256/${digestHex(blob.digest)}`;
    if (blob.kind === 'data') await entry(file(name, blob.data.length, blob.mtime), blob.data);
    else await writeLayer(out, file(name, blob.size, blob.mtime), blob, () => gone);
  }
  for (const [name, data] of documents) await entry(file(name, data.length, EPOCH), data);
}

/**
 * Streams a kept layer tar into the archive, hashing it: when its bytes are not the diff id's,
 * the entry is never finished (the reader sees a broken archive, never a wrong layer).
 */
async function writeLayer(
  out: Pack,
  header: EntryHeader,
  blob: { digest: Digest; path: string; size: number },
  isGone: () => boolean,
): Promise<void> {
  const damaged = (why: string) => internal(`the kept tar of layer ${blob.digest} is damaged: ${why}`);
  const fh = await open(blob.path, 'r');
  try {
    let settle: (err?: Error | null) => void = () => {};
    const done = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    done.catch(() => {}); // awaited below
    const sink = out.entry(header, (err) => settle(err));
    // A failure destroys the whole pack, and this entry with it; that error is reported there.
    sink.on('error', () => {});
    const hash = createHash('sha256');
    let seen = 0;
    const chunks = fh.createReadStream({ start: 0, end: Math.max(0, blob.size - 1), autoClose: false });
    for await (const chunk of chunks) {
      if (isGone()) throw new Error('the archive reader went away');
      const buf = chunk as Buffer;
      hash.update(buf);
      seen += buf.length;
      if (seen === blob.size) {
        const actual = `sha256:${hash.digest('hex')}`;
        if (actual !== blob.digest) throw damaged(`its sha256 is ${actual}`);
      }
      if (!sink.write(buf)) await drained(sink);
    }
    if (seen !== blob.size) throw damaged(`it has ${seen} bytes, ${blob.size} were expected`);
    sink.end(null);
    await done;
  } finally {
    await fh.close();
  }
}
