/**
 * The CLI's own version, read from package.json at run time. This module sits one level below the
 * package root both as source (`src/version.ts`) and bundled (`dist/*.js`), so the same relative
 * URL works in tests and in the published package.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const CLI_VERSION = readVersion();
export const USER_AGENT = `tsdocker-Client/${CLI_VERSION} (${process.platform})`;
