/**
 * API versions: what we advertise, what we accept on `/vX.Y/` paths, and how moby compares them.
 */
import { ApiError } from './http-status.js';

/** The version advertised in `Api-Version` and used for unversioned paths. */
export const API_VERSION = '1.50';
/** The oldest version moby 28 accepts on the path. */
export const MIN_API_VERSION = '1.24';

/**
 * Compares dotted versions numerically, part by part, missing parts counting as 0 (moby's
 * `versions.compare`; a non-numeric part also counts as 0, as Go's Atoi error is ignored there).
 */
export function compareApiVersions(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const l = toPart(left[i]);
    const r = toPart(right[i]);
    if (l !== r) return l < r ? -1 : 1;
  }
  return 0;
}

function toPart(part: string | undefined): number {
  if (part === undefined || !/^\d+$/.test(part)) return 0;
  return Number(part);
}

export const versionAtLeast = (version: string, floor: string): boolean =>
  compareApiVersions(version, floor) >= 0;
export const versionBelow = (version: string, ceiling: string): boolean =>
  compareApiVersions(version, ceiling) < 0;

/**
 * Validates the version from a `/vX.Y/` prefix (undefined for unversioned paths) and returns the
 * version the request is served at. Messages are moby's, word for word.
 */
export function resolveApiVersion(requested: string | undefined): string {
  if (requested === undefined || requested === '') return API_VERSION;
  if (versionBelow(requested, MIN_API_VERSION)) {
    // moby answers ancient clients in plain text: they cannot decode the JSON error body.
    throw new ApiError(
      400,
      `client version ${requested} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
      true,
    );
  }
  if (compareApiVersions(requested, API_VERSION) > 0) {
    throw new ApiError(
      400,
      `client version ${requested} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  }
  return requested;
}
