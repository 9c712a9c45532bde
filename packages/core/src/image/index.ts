export { chainIdsOf, createChainId, topChainId } from './chain-id.js';
export { applyChanges } from './change-commands.js';
export { type Digest, digestHex, isSha256Digest, parseDigest, sha256Digest } from './digest.js';
export {
  type ContainerConfig,
  emptyContainerConfig,
  encodeContainerConfig,
  encodeImageConfig,
  type HealthConfig,
  type HistoryEntry,
  type ImageConfig,
  MAX_IMAGE_CONFIG_BYTES,
  type NewImageConfig,
  parseImageConfig,
  type RootFS,
} from './image-config.js';
export type { DeleteRecord, ImageUser } from './image-delete.js';
export {
  createImageService,
  GraphImageService,
  type ImageEvent,
  type ImageRecord,
  type ImageServiceImpl,
  type ImageServiceOptions,
} from './image-service.js';
export type { ImageEntry } from './image-store.js';
export { ImageStore } from './image-store.js';
export { type LayerHandle, type LayerInfo, LayerStore, MAX_LAYER_DEPTH } from './layer-store.js';
export { hostPlatform, type Platform, parsePlatform } from './platform.js';
export {
  type AnyReference,
  type DigestReference,
  familiarMatch,
  familiarName,
  familiarString,
  type NamedReference,
  parseAnyReference,
  parseNormalizedNamed,
  parseReference,
  refName,
  refString,
  repoTagReference,
  tagNameOnly,
  trimNamed,
  withTag,
} from './reference.js';
export { ReferenceStore } from './reference-store.js';
export { formatRfc3339Nano, ZERO_TIME } from './timestamps.js';
