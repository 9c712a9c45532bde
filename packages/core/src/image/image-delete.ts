/**
 * `docker rmi` with moby's `ImageDelete` semantics. Given a reference, the reference is removed
 * and the image goes only if nothing else refers to it; given an id, the image goes with its
 * references. Conflicts:
 *
 * - hard (never forced): child images, running containers;
 * - soft (forced with `force`): other repository references, stopped containers.
 *
 * Layers the image held are deleted with it when nothing else holds them, and listed.
 */
import { conflict } from '../errors.js';
import { shortId } from '../store/id-index.js';
import type { Digest } from './digest.js';
import type { ImageStore } from './image-store.js';
import {
  familiarString,
  type NamedReference,
  parseNormalizedNamed,
  refName,
  tagNameOnly,
} from './reference.js';
import type { ReferenceStore } from './reference-store.js';

/** A container using an image; `running` decides between a hard and a soft conflict. */
export interface ImageUser {
  id: string;
  running: boolean;
}

export type DeleteRecord = { Untagged: string } | { Deleted: string };

export interface DeleteContext {
  images: ImageStore;
  refs: ReferenceStore;
  /** A container using the image, a running one if there is any. */
  userOf(imageId: Digest): ImageUser | null;
  emit(action: 'untag' | 'delete', imageId: Digest): void;
}

const CONFLICT_DEPENDENT_CHILD = 1;
const CONFLICT_RUNNING_CONTAINER = 2;
const CONFLICT_ACTIVE_REFERENCE = 4;
const CONFLICT_STOPPED_CONTAINER = 8;
const CONFLICT_HARD = CONFLICT_DEPENDENT_CHILD | CONFLICT_RUNNING_CONTAINER;
const CONFLICT_SOFT = CONFLICT_ACTIVE_REFERENCE | CONFLICT_STOPPED_CONTAINER;

interface DeleteConflict {
  hard: boolean;
  /** A container uses the image (such conflicts are reported even when quiet). */
  used: boolean;
  imageId: Digest;
  message: string;
}

function conflictError(c: DeleteConflict): Error {
  const how = c.hard ? 'cannot be forced' : 'must be forced';
  return conflict(`conflict: unable to delete ${shortId(c.imageId)} (${how}) - ${c.message}`);
}

/** Is `possiblePrefix` a prefix of the id, with or without `sha256:`? */
function isImageIdPrefix(imageId: Digest, possiblePrefix: string): boolean {
  return imageId.startsWith(possiblePrefix) || imageId.slice('sha256:'.length).startsWith(possiblePrefix);
}

/** All references come from one repository, with at most one tag (digests alongside allowed). */
function isSingleReference(refs: NamedReference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: NamedReference | null = null;
  const canonicalRepos = new Set<string>();
  for (const ref of refs) {
    if (ref.digest !== null) canonicalRepos.add(refName(ref));
    else if (single === null) single = ref;
    else return false;
  }
  const chosen = single ?? (refs[0] as NamedReference);
  return canonicalRepos.size === 1 && canonicalRepos.has(refName(chosen));
}

function checkConflict(ctx: DeleteContext, imageId: Digest, mask: number): DeleteConflict | null {
  if (mask & CONFLICT_DEPENDENT_CHILD && ctx.images.children(imageId).length > 0) {
    return { hard: true, used: false, imageId, message: 'image has dependent child images' };
  }
  const user = mask & (CONFLICT_RUNNING_CONTAINER | CONFLICT_STOPPED_CONTAINER) ? ctx.userOf(imageId) : null;
  if (mask & CONFLICT_RUNNING_CONTAINER && user?.running) {
    return {
      hard: true,
      used: true,
      imageId,
      message: `image is being used by running container ${shortId(user.id)}`,
    };
  }
  if (mask & CONFLICT_ACTIVE_REFERENCE && ctx.refs.references(imageId).length > 0) {
    return { hard: false, used: false, imageId, message: 'image is referenced in multiple repositories' };
  }
  if (mask & CONFLICT_STOPPED_CONTAINER && user && !user.running) {
    return {
      hard: false,
      used: true,
      imageId,
      message: `image is being used by stopped container ${shortId(user.id)}`,
    };
  }
  return null;
}

async function removeReference(ctx: DeleteContext, ref: NamedReference): Promise<NamedReference> {
  const form = ref.digest !== null ? ref : tagNameOnly(ref);
  // Idempotent: a reference that is already gone is fine.
  await ctx.refs.delete(form);
  return form;
}

async function removeAllReferences(
  ctx: DeleteContext,
  imageId: Digest,
  records: DeleteRecord[],
): Promise<void> {
  for (const ref of ctx.refs.references(imageId)) {
    const removed = await removeReference(ctx, ref);
    ctx.emit('untag', imageId);
    records.push({ Untagged: familiarString(removed) });
  }
}

function isDangling(ctx: DeleteContext, imageId: Digest): boolean {
  return ctx.refs.references(imageId).length === 0 && ctx.images.children(imageId).length === 0;
}

/** moby's imageDeleteHelper: delete `imageId` unless a conflict stops it; then maybe its parent. */
async function deleteHelper(
  ctx: DeleteContext,
  imageId: Digest,
  records: DeleteRecord[],
  force: boolean,
  prune: boolean,
  quiet: boolean,
): Promise<void> {
  const found = checkConflict(ctx, imageId, CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT));
  if (found) {
    // Quietly keep an image that is still tagged or used, unless it would be left dangling.
    if (quiet && (!isDangling(ctx, imageId) || found.used)) return;
    throw conflictError(found);
  }
  const parent = ctx.images.get(imageId)?.parent ?? null;
  await removeAllReferences(ctx, imageId, records);
  const removedLayers = await ctx.images.delete(imageId);
  ctx.emit('delete', imageId);
  records.push({ Deleted: imageId });
  for (const layer of removedLayers) records.push({ Deleted: layer });
  if (!prune || parent === null) return;
  await deleteHelper(ctx, parent, records, false, true, true);
}

/**
 * Deletes by `imageRef` (as the user typed it) the image `imageId` it resolved to. Returns the
 * `Untagged` / `Deleted` records in Docker's order.
 */
export async function deleteImage(
  ctx: DeleteContext,
  imageRef: string,
  imageId: Digest,
  options: { force: boolean; prune: boolean },
): Promise<DeleteRecord[]> {
  const records: DeleteRecord[] = [];
  let repoRefs = ctx.refs.references(imageId);
  let removedRepositoryRef = false;

  if (!isImageIdPrefix(imageId, imageRef)) {
    // A reference was given: remove it first. Refuse when it is the image's last name and a
    // container uses the image, as that would leave the container's image dangling.
    if (!options.force && isSingleReference(repoRefs)) {
      const user = ctx.userOf(imageId);
      if (user) {
        throw conflict(
          `conflict: unable to remove repository reference ${JSON.stringify(imageRef)} (must force) - container ${shortId(user.id)} is using its referenced image ${shortId(imageId)}`,
        );
      }
    }
    const parsed = await removeReference(ctx, parseNormalizedNamed(imageRef));
    ctx.emit('untag', imageId);
    records.push({ Untagged: familiarString(parsed) });
    repoRefs = ctx.refs.references(imageId);

    // A removed tag that was its repository's last one takes the repository's digests along.
    if (parsed.digest === null) {
      const sameRepoTag = repoRefs.some((r) => r.digest === null && refName(r) === refName(parsed));
      if (!sameRepoTag) {
        const remaining: NamedReference[] = [];
        for (const r of repoRefs) {
          if (r.digest !== null && refName(r) === refName(parsed)) {
            await removeReference(ctx, r);
            records.push({ Untagged: familiarString(r) });
          } else remaining.push(r);
        }
        repoRefs = remaining;
      }
    }
    if (repoRefs.length > 0) return records;
    removedRepositoryRef = true;
  } else if (isSingleReference(repoRefs)) {
    // An id with at most one tag (in one repository): the references go with the image.
    const mask = CONFLICT_HARD | (options.force ? 0 : CONFLICT_SOFT & ~CONFLICT_ACTIVE_REFERENCE);
    const found = checkConflict(ctx, imageId, mask);
    if (found) throw conflictError(found);
    for (const ref of repoRefs) {
      const removed = await removeReference(ctx, ref);
      ctx.emit('untag', imageId);
      records.push({ Untagged: familiarString(removed) });
    }
  }

  await deleteHelper(ctx, imageId, records, options.force, options.prune, removedRepositoryRef);
  return records;
}
