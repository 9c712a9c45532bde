export {
  CHANGE_ADDED,
  CHANGE_DELETED,
  CHANGE_MODIFIED,
  changesSize,
  computeChanges,
  entryModified,
  exportChanges,
} from './changes.js';
export { type Compression, decompressStream, detectCompression } from './compression.js';
export {
  type ExtractedEntry,
  type ExtractedLayer,
  type ExtractLayerOptions,
  extractLayer,
  type LayerEntryType,
} from './extract.js';
export { IDLE_WORKER_MS, stopIdleExtractionWorkers } from './extract-in-worker.js';
export { followedFile, GrowingFile, type GrowthState } from './growing-file.js';
export { type PackDirectoryOptions, packDirectory } from './pack.js';
export { makeSpecialFile, type SpecialFileType, setExtendedAttributes } from './special-files.js';
export { LayerTarWriter, tarStream } from './tar-writer.js';
export {
  isOverlayWhiteout,
  OVERLAY_OPAQUE_XATTR,
  WHITEOUT_META_PREFIX,
  WHITEOUT_OPAQUE_DIR,
  WHITEOUT_PREFIX,
} from './whiteouts.js';
