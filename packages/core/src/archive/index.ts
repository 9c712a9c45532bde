export {
  CHANGE_ADDED,
  CHANGE_DELETED,
  CHANGE_MODIFIED,
  changesSize,
  computeChanges,
  exportChanges,
} from './changes.js';
export { type Compression, decompressStream, detectCompression } from './compression.js';
export {
  type ExtractedEntry,
  type ExtractLayerOptions,
  extractLayer,
  type LayerEntryType,
} from './extract.js';
export { type PackDirectoryOptions, packDirectory } from './pack.js';
export { WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE_DIR, WHITEOUT_PREFIX } from './whiteouts.js';
