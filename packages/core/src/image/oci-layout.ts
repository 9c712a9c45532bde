/**
 * The OCI image layout (image-spec `image-layout.md`): `oci-layout`, `index.json` and
 * content-addressed `blobs/sha256/<hex>`. `docker load` reads it when an archive has no
 * `manifest.json` (skopeo's `oci-archive:`, containerd exports); `docker save` writes it next to
 * `manifest.json`, as moby 25+ does.
 *
 * Tags come from the descriptor annotations: `io.containerd.image.name` (a full reference) or
 * else `org.opencontainers.image.ref.name` when it is a whole `name:tag` (skopeo writes that;
 * a bare tag names no repository and is ignored, leaving the image untagged).
 */
import { z } from 'zod/v3';
import { invalidArgument } from '../errors.js';
import type { ArchiveSpool, SpooledFile } from './archive-spool.js';
import type { Digest } from './digest.js';
import { type GoJson, goMap, goObject, goValue } from './go-json.js';
import { MAX_IMAGE_CONFIG_BYTES } from './image-config.js';
import {
  checkLayerCount,
  configMatchesPlatform,
  type LoadableImage,
  MAX_ARCHIVE_DOCUMENT_BYTES,
  parseArchivedConfig,
} from './load-plan.js';
import { hostPlatform, type Platform } from './platform.js';
import { type NamedReference, parseNormalizedNamed, refString } from './reference.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
/** Exactly what moby writes into `oci-layout`. */
export const OCI_LAYOUT_CONTENT = '{"imageLayoutVersion": "1.0.0"}';

export const MEDIA_TYPE_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
const MEDIA_TYPE_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const MEDIA_TYPE_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

const INDEX_TYPES = new Set([MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_DOCKER_LIST]);
const MANIFEST_TYPES = new Set([MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST]);
const CONFIG_TYPES = new Set([MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_DOCKER_CONFIG]);
/** Layer media types whose blob is a tar, plain or compressed (the format is told by magic bytes). */
const LAYER_TYPES = new Set([
  MEDIA_TYPE_OCI_LAYER,
  `${MEDIA_TYPE_OCI_LAYER}+gzip`,
  `${MEDIA_TYPE_OCI_LAYER}+zstd`,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);
/** An index may point at indexes; real ones nest once at most. */
const MAX_INDEX_DEPTH = 4;

const platformSchema = z
  .object({
    architecture: z.string(),
    os: z.string(),
    variant: z.string().optional(),
  })
  .passthrough();
const descriptorSchema = z
  .object({
    mediaType: z.string().optional(),
    digest: z.string(),
    size: z.number().int().safe().nonnegative(),
    annotations: z.record(z.string(), z.string()).nullish(),
    platform: platformSchema.nullish(),
  })
  .passthrough();
type Descriptor = z.infer<typeof descriptorSchema>;
const indexSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    manifests: z.array(descriptorSchema).nullish(),
  })
  .passthrough();
const manifestSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    config: descriptorSchema,
    layers: z.array(descriptorSchema).nullish(),
  })
  .passthrough();

function parseWith<T>(schema: z.ZodType<T>, doc: unknown, what: string): T {
  const result = schema.safeParse(doc);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw invalidArgument(`invalid ${what}: ${issue?.path.join('.') || 'document'}: ${issue?.message}`);
}

/** The tag a descriptor's annotations give, if any. */
function nameFromAnnotations(annotations: Record<string, string> | null | undefined): NamedReference | null {
  for (const key of [ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME]) {
    const value = annotations?.[key];
    if (!value) continue;
    try {
      const ref = parseNormalizedNamed(value);
      if (ref.tag !== null && ref.digest === null) return ref;
    } catch {
      // not a full reference (a bare tag, or garbage): no name from this key
    }
  }
  return null;
}

const platformMatches = (p: z.infer<typeof platformSchema>, wanted: Platform) =>
  p.os === wanted.os &&
  p.architecture === wanted.architecture &&
  (wanted.variant === undefined || (p.variant ?? '') === wanted.variant);

interface Collected {
  descriptor: Descriptor;
  tags: NamedReference[];
}

/** Reads `index.json` (and `oci-layout`) and everything the index points to. */
export async function readOciLayout(
  spool: ArchiveSpool,
  indexFile: SpooledFile,
  platform?: Platform,
): Promise<LoadableImage[]> {
  const layoutFile = spool.find(OCI_LAYOUT_FILE, OCI_LAYOUT_FILE);
  if (layoutFile) {
    const layout = await spool.readJson(layoutFile, MAX_ARCHIVE_DOCUMENT_BYTES, OCI_LAYOUT_FILE);
    const version = (layout as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
    if (version !== '1.0.0')
      throw invalidArgument(`unsupported OCI image layout version ${JSON.stringify(version)}`);
  }
  const index = parseWith(
    indexSchema,
    await spool.readJson(indexFile, MAX_ARCHIVE_DOCUMENT_BYTES, OCI_INDEX_FILE),
    OCI_INDEX_FILE,
  );

  // Manifests in index order; several descriptors (one per tag) may name the same manifest.
  const manifests = new Map<string, Collected>();
  for (const descriptor of index.manifests ?? []) {
    const tag = nameFromAnnotations(descriptor.annotations);
    for (const manifest of await concreteManifests(spool, descriptor, platform, 0)) {
      let entry = manifests.get(manifest.digest);
      if (!entry) {
        entry = { descriptor: manifest, tags: [] };
        manifests.set(manifest.digest, entry);
      }
      if (tag && !entry.tags.some((t) => refString(t) === refString(tag))) entry.tags.push(tag);
    }
  }

  const images: LoadableImage[] = [];
  for (const { descriptor, tags } of manifests.values()) {
    const image = await readManifest(spool, descriptor, tags);
    if (image && (!platform || configMatchesPlatform(image.config, platform))) images.push(image);
  }
  return images;
}

/** The kind of document a descriptor points to: from its media type, else from the document. */
async function documentOf(
  spool: ArchiveSpool,
  descriptor: Descriptor,
  what: string,
): Promise<{ kind: 'index' | 'manifest' | 'other'; doc: unknown }> {
  const declared = descriptor.mediaType;
  if (declared !== undefined && !INDEX_TYPES.has(declared) && !MANIFEST_TYPES.has(declared)) {
    return { kind: 'other', doc: null };
  }
  const file = spool.blob(descriptor.digest, what, descriptor.size);
  const doc = await spool.readJson(file, MAX_ARCHIVE_DOCUMENT_BYTES, what);
  const mediaType = declared ?? (doc as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType === 'string' && INDEX_TYPES.has(mediaType)) return { kind: 'index', doc };
  if (typeof mediaType === 'string' && MANIFEST_TYPES.has(mediaType)) return { kind: 'manifest', doc };
  if (mediaType === undefined && typeof doc === 'object' && doc !== null) {
    if ('manifests' in doc) return { kind: 'index', doc };
    if ('config' in doc) return { kind: 'manifest', doc };
  }
  return { kind: 'other', doc: null };
}

/**
 * The image manifests `descriptor` stands for: itself, or for an index the one manifest for
 * `platform` (the host's when not given). Other content (attestations, artifacts) is skipped.
 */
async function concreteManifests(
  spool: ArchiveSpool,
  descriptor: Descriptor,
  platform: Platform | undefined,
  depth: number,
): Promise<Descriptor[]> {
  const what = `OCI descriptor ${descriptor.digest}`;
  const { kind, doc } = await documentOf(spool, descriptor, what);
  if (kind === 'manifest') return [descriptor];
  if (kind !== 'index') return [];
  if (depth >= MAX_INDEX_DEPTH) throw invalidArgument(`${what}: image indexes nest too deeply`);
  const nested = parseWith(indexSchema, doc, `image index ${descriptor.digest}`);
  const wanted = platform ?? hostPlatform();
  for (const child of nested.manifests ?? []) {
    if (child.platform && !platformMatches(child.platform, wanted)) continue;
    const found = await concreteManifests(spool, child, platform, depth + 1);
    if (found.length > 0) return found.slice(0, 1);
  }
  return [];
}

/** An image manifest and its config and layers, checked against their digests and sizes. */
async function readManifest(
  spool: ArchiveSpool,
  descriptor: Descriptor,
  tags: NamedReference[],
): Promise<LoadableImage | null> {
  const what = `image manifest ${descriptor.digest}`;
  const manifestFile = spool.blob(descriptor.digest, what, descriptor.size);
  const manifest = parseWith(
    manifestSchema,
    await spool.readJson(manifestFile, MAX_ARCHIVE_DOCUMENT_BYTES, what),
    what,
  );
  if (manifest.config.mediaType !== undefined && !CONFIG_TYPES.has(manifest.config.mediaType)) return null;
  const configWhat = `image config ${manifest.config.digest}`;
  const configFile = spool.blob(manifest.config.digest, configWhat, manifest.config.size);
  const configRaw = await spool.read(configFile, MAX_IMAGE_CONFIG_BYTES, configWhat);
  const config = parseArchivedConfig(configRaw, configWhat);
  const layerDescriptors = manifest.layers ?? [];
  checkLayerCount(layerDescriptors.length, config);
  const layers = layerDescriptors.map((layer, i) => {
    const layerWhat = `${what}: layer ${i}`;
    if (layer.mediaType !== undefined && !LAYER_TYPES.has(layer.mediaType))
      throw invalidArgument(`${layerWhat}: unsupported media type ${JSON.stringify(layer.mediaType)}`);
    return spool.blob(layer.digest, layerWhat, layer.size);
  });
  return { what, configRaw, config, layers, tags, parent: null };
}

// ---------------------------------------------------------------------------------------------
// Writing (docker save)
// ---------------------------------------------------------------------------------------------

/** An OCI descriptor in Go's field order (mediaType, digest, size, annotations, platform). */
export function encodeDescriptor(d: {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}): GoJson {
  return goObject([
    ['mediaType', d.mediaType],
    ['digest', d.digest],
    ['size', d.size],
    ['annotations', d.annotations ? goMap(d.annotations) : undefined],
    [
      'platform',
      d.platform
        ? goObject([
            ['architecture', d.platform.architecture],
            ['os', d.platform.os],
            ['variant', d.platform.variant || undefined],
          ])
        : undefined,
    ],
  ]);
}

/** An OCI image manifest (json.Marshal output: no trailing newline). */
export function encodeOciManifest(config: GoJson, layers: readonly GoJson[]): Buffer {
  return Buffer.from(
    goObject([
      ['schemaVersion', 2],
      ['mediaType', MEDIA_TYPE_OCI_MANIFEST],
      ['config', config],
      ['layers', goValue(layers)],
    ]).text,
  );
}

/** `index.json`: an OCI image index of the given manifest descriptors. */
export function encodeOciIndex(manifests: readonly GoJson[]): Buffer {
  return Buffer.from(
    goObject([
      ['schemaVersion', 2],
      ['mediaType', MEDIA_TYPE_OCI_INDEX],
      ['manifests', goValue(manifests)],
    ]).text,
  );
}
