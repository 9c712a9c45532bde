/**
 * What `docker load` found in an archive, whatever its layout: for each image its config, one
 * spooled file per layer and its tags. Everything here is read and checked before the first
 * layer is stored, so a bad archive changes nothing.
 */
import { invalidArgument } from '../errors.js';
import type { SpooledFile } from './archive-spool.js';
import type { Digest } from './digest.js';
import { type ImageConfig, parseImageConfig } from './image-config.js';
import type { Platform } from './platform.js';
import { type NamedReference, parseNormalizedNamed } from './reference.js';

/** Cap for manifest.json, index.json, OCI manifests and `repositories`: small documents. */
export const MAX_ARCHIVE_DOCUMENT_BYTES = 4 * 1024 * 1024;

export interface LoadableImage {
  /** Names the image in messages. */
  what: string;
  /** The config bytes exactly as archived (the image id is their sha256). */
  configRaw: Buffer;
  config: ImageConfig;
  /** One file per diff id, base first. */
  layers: SpooledFile[];
  /** Tags to point at the image (name and tag, no digest). */
  tags: NamedReference[];
  /** The parent image id manifest.json names, if any. */
  parent: Digest | null;
}

/** Parses a config from an archive, with moby's message for another OS. */
export function parseArchivedConfig(raw: Buffer, what: string): ImageConfig {
  let os: unknown;
  try {
    os = (JSON.parse(raw.toString('utf8')) as { os?: unknown } | null)?.os;
  } catch {
    // parseImageConfig reports it
  }
  if (typeof os === 'string' && os !== '' && os !== 'linux')
    throw invalidArgument(`cannot load ${os} image on linux`);
  try {
    return parseImageConfig(raw);
  } catch (err) {
    throw invalidArgument(`${what}: ${(err as Error).message}`, err);
  }
}

/** Whether an image config is for `wanted` (os and architecture, and the variant when given). */
export function configMatchesPlatform(config: ImageConfig, wanted: Platform): boolean {
  return (
    (config.os || 'linux') === wanted.os &&
    (config.architecture ?? '') === wanted.architecture &&
    (wanted.variant === undefined || (config.variant ?? '') === wanted.variant)
  );
}

/** moby's check that an archive lists as many layers as the config has diff ids. */
export function checkLayerCount(listed: number, config: ImageConfig): void {
  const expected = config.rootfs.diff_ids.length;
  if (listed !== expected) {
    throw invalidArgument(`invalid manifest, layers length mismatch: expected ${listed}, got ${expected}`);
  }
}

/** A `RepoTags` entry: a name with a tag (moby refuses anything else with `invalid tag`). */
export function parseRepoTag(value: unknown): NamedReference {
  if (typeof value !== 'string') throw invalidArgument(`invalid tag ${JSON.stringify(value)}`);
  const ref = parseNormalizedNamed(value);
  if (ref.tag === null || ref.digest !== null) throw invalidArgument(`invalid tag ${JSON.stringify(value)}`);
  return ref;
}
