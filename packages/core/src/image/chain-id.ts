/**
 * Chain ids name a layer together with everything below it (moby's `layer.CreateChainID`, the
 * OCI image-spec `ChainID`): a base layer's chain id is its diff id; above it,
 * `sha256(parentChainId + " " + diffId)` over the full `sha256:…` strings.
 */
import { type Digest, sha256Digest } from './digest.js';

/** The chain id of a layer with diff id `diffId` on top of the layer `parent` (null for a base). */
export function createChainId(parent: Digest | null, diffId: Digest): Digest {
  return parent === null ? diffId : sha256Digest(`${parent} ${diffId}`);
}

/** The chain id of every prefix of `diffIds`, base first: `[c1, c2, …]`. */
export function chainIdsOf(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  let parent: Digest | null = null;
  for (const diffId of diffIds) {
    parent = createChainId(parent, diffId);
    out.push(parent);
  }
  return out;
}

/** The chain id of the whole stack, or null for an image without layers. */
export function topChainId(diffIds: readonly Digest[]): Digest | null {
  return chainIdsOf(diffIds).at(-1) ?? null;
}
