/**
 * Docker's own archive index: `manifest.json` (a JSON array, one item per image) and the legacy
 * `repositories` file, as `docker save` writes them and `docker load` reads them.
 *
 *   [{"Config":"blobs/sha256/<config hex>","RepoTags":["busybox:latest"],"Layers":["blobs/sha256/<diff id hex>",…]}]
 *
 * Paths are relative to the archive root. Docker 25+ points into the OCI `blobs/` tree; older
 * daemons wrote `<config hex>.json` and `<v1 id>/layer.tar`. The same reader takes both.
 */
import { z } from 'zod/v3';
import { invalidArgument } from '../errors.js';
import type { ArchiveSpool, SpooledFile } from './archive-spool.js';
import { type Digest, isSha256Digest } from './digest.js';
import { goMap, goObject, goStrings, goValue } from './go-json.js';
import { MAX_IMAGE_CONFIG_BYTES } from './image-config.js';
import {
  checkLayerCount,
  configMatchesPlatform,
  type LoadableImage,
  MAX_ARCHIVE_DOCUMENT_BYTES,
  parseArchivedConfig,
  parseRepoTag,
} from './load-plan.js';
import type { Platform } from './platform.js';

export const MANIFEST_FILE = 'manifest.json';
export const REPOSITORIES_FILE = 'repositories';

const manifestItemSchema = z
  .object({
    Config: z.string(),
    RepoTags: z.array(z.string()).nullish(),
    Layers: z.array(z.string()).nullish(),
    Parent: z.string().nullish(),
  })
  .passthrough();

/** Reads `manifest.json` and everything its items point to. Images for another platform are skipped. */
export async function readDockerManifest(
  spool: ArchiveSpool,
  manifestFile: SpooledFile,
  platform?: Platform,
): Promise<LoadableImage[]> {
  const doc = await spool.readJson(manifestFile, MAX_ARCHIVE_DOCUMENT_BYTES, MANIFEST_FILE);
  if (doc === null) throw invalidArgument('invalid manifest, manifest cannot be null (but can be [])');
  if (!Array.isArray(doc)) throw invalidArgument(`invalid ${MANIFEST_FILE}: not a JSON array`);
  const images: LoadableImage[] = [];
  for (const [index, rawItem] of doc.entries()) {
    const what = `${MANIFEST_FILE} item ${index}`;
    const parsed = manifestItemSchema.safeParse(rawItem);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalidArgument(`invalid ${what}: ${issue?.path.join('.') || 'item'}: ${issue?.message}`);
    }
    const item = parsed.data;
    const configFile = spool.resolve(item.Config, `${what}: Config`);
    const configRaw = await spool.read(configFile, MAX_IMAGE_CONFIG_BYTES, `image config ${item.Config}`);
    const config = parseArchivedConfig(configRaw, `image config ${item.Config}`);
    if (platform && !configMatchesPlatform(config, platform)) continue;
    const layerPaths = item.Layers ?? [];
    checkLayerCount(layerPaths.length, config);
    const layers = layerPaths.map((path, i) => spool.resolve(path, `${what}: layer ${i}`));
    const tags = (item.RepoTags ?? []).map(parseRepoTag);
    const parent = isSha256Digest(item.Parent) ? item.Parent : null;
    images.push({ what, configRaw, config, layers, tags, parent });
  }
  return images;
}

/** One `manifest.json` item as `docker save` writes it. */
export interface ManifestItem {
  configPath: string;
  /** Familiar references (`busybox:latest`); none gives `null`, as Go writes a nil slice. */
  repoTags: string[];
  layerPaths: string[];
  parent?: Digest;
}

/** `manifest.json`'s bytes: Go's json.Encoder output (struct field order, a trailing newline). */
export function encodeDockerManifest(items: readonly ManifestItem[]): Buffer {
  const encoded = items.map((item) =>
    goObject([
      ['Config', item.configPath],
      ['RepoTags', goStrings(item.repoTags.length > 0 ? item.repoTags : null)],
      ['Layers', goStrings(item.layerPaths)],
      ['Parent', item.parent],
    ]),
  );
  return Buffer.from(`${goValue(encoded).text}\n`);
}

/** The legacy `repositories` file: familiar name → tag → top layer hex (json.Encoder output). */
export function encodeRepositories(repos: ReadonlyMap<string, ReadonlyMap<string, string>>): Buffer {
  const outer: Record<string, ReturnType<typeof goMap>> = {};
  for (const [name, tags] of repos) outer[name] = goMap(Object.fromEntries(tags));
  return Buffer.from(`${goMap(outer).text}\n`);
}
