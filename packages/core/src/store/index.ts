export {
  type AtomicWriteOptions,
  DEFAULT_MAX_STATE_FILE_BYTES,
  FileTooLargeError,
  fsyncDir,
  isTempName,
  makeTempName,
  type Parser,
  readFileCapped,
  readJsonFile,
  removeStaleTempFiles,
  TEMP_PREFIX,
  tempPathFor,
  writeFileAtomic,
  writeJsonAtomic,
} from './atomic-file.js';
export { generateId, IdIndex, type PrefixLookup, shortId } from './id-index.js';
export { LockedMap } from './locked-map.js';
export { KeyedMutex, Mutex } from './mutex.js';
export { settleAll } from './settle-all.js';
