/**
 * Where the compiled shim lives. `scripts/build-native.mjs` writes it to `<package>/build/tsd-shim`
 * at install time; both `src/*.ts` (tests) and the bundled `dist/index.js` sit one directory below
 * the package root, so the same relative URL works in the workspace and from node_modules.
 */
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_SHIM_PATH = fileURLToPath(new URL('../build/tsd-shim', import.meta.url));
