/**
 * `docker import` (moby's `ImportImage`): a rootfs tar, plain or compressed, becomes a one-layer
 * image whose config comes from the Dockerfile `changes`. Everything the request says is checked
 * before a byte is stored; a failure after that removes what was made.
 */
import { borrow } from '../archive/borrowed-stream.js';
import { decompressStream } from '../archive/index.js';
import { invalidArgument, TsdockerError } from '../errors.js';
import type { ImageImportParams } from '../services.js';
import { applyChanges } from './change-commands.js';
import type { Digest } from './digest.js';
import { emptyContainerConfig, encodeImageConfig } from './image-config.js';
import type { ImageStore } from './image-store.js';
import type { LayerStore } from './layer-store.js';
import { hostPlatform, parsePlatform } from './platform.js';
import { familiarName, type NamedReference, repoTagReference } from './reference.js';
import { nowRfc3339Nano } from './timestamps.js';

export interface ImportContext {
  layers: LayerStore;
  images: ImageStore;
  /** Written as `docker_version` when set. */
  engineVersion?: string;
  /** Stores the config and tags it, atomically with respect to other image operations. */
  commit(raw: Buffer, ref: NamedReference | null): Promise<Digest>;
}

const optionalString = (value: unknown, name: string): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidArgument(`${name} must be a string`);
  return value;
};

export async function importImage(ctx: ImportContext, params: ImageImportParams): Promise<{ id: Digest }> {
  // Everything from the request is validated before anything is written.
  const repo = optionalString(params.repo, 'repo') ?? '';
  const tag = optionalString(params.tag, 'tag');
  const message = optionalString(params.message, 'message');
  const platformSpec = optionalString(params.platform, 'platform');
  if (!Array.isArray(params.changes)) throw invalidArgument('changes must be a list of strings');
  if (typeof params.source?.pipe !== 'function')
    throw invalidArgument('import needs the layer tar as a stream');
  const ref = repoTagReference(repo, tag);
  if (ref && familiarName(ref) === 'sha256') {
    throw invalidArgument('refusing to create an ambiguous tag using digest algorithm as name');
  }
  const platform = platformSpec ? parsePlatform(platformSpec) : hostPlatform();
  if (platform.os !== 'linux') {
    throw invalidArgument(`image operating system "${platform.os}" cannot be used on this platform`);
  }
  const config = applyChanges(emptyContainerConfig(), params.changes);
  const comment = message || 'Imported from -';

  const { input, giveBack } = borrow(params.source);
  let layer: Awaited<ReturnType<LayerStore['register']>>;
  try {
    layer = await ctx.layers.register(decompressStream(input), null);
  } catch (err) {
    giveBack();
    // A corrupt compressed body is the client's input, not a daemon failure.
    if (!TsdockerError.is(err) && /^Z_/.test(String((err as NodeJS.ErrnoException).code))) {
      throw invalidArgument(`invalid layer archive: ${(err as Error).message}`, err);
    }
    throw err;
  }
  try {
    const created = nowRfc3339Nano();
    const raw = encodeImageConfig({
      architecture: platform.architecture,
      variant: platform.variant,
      os: platform.os,
      comment,
      created,
      docker_version: ctx.engineVersion,
      config,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, comment }],
    });
    const id = await ctx.commit(raw, ref);
    params.progress?.({ status: id });
    return { id };
  } finally {
    // The image holds its own reference now (or the import failed and the layer may go).
    await layer.release();
  }
}
