/**
 * Path parameters, checked before they reach core. Core looks containers, execs and images up in
 * memory and never builds a filesystem path from a client's string, but the API makes sure of it
 * at the door too: a parameter that cannot name anything is answered with Docker's own "not
 * found" (or "invalid reference format") without core ever seeing it. The checks are Docker's
 * grammars, so nothing Docker accepts is refused.
 */
import { invalidArgument, notFound } from '../http-status.js';

/** A container name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, optional leading slash), full id or id prefix. */
const CONTAINER_REF = /^\/?[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Exec ids are always full 64-hex ids (moby looks them up exactly). */
const EXEC_ID = /^[0-9a-f]{64}$/;
/**
 * Anything an image reference or id can contain: names, `host:port/` and `[v6]:port/` domains,
 * tags, `@algorithm:hex` digests, bare ids and id prefixes. Core parses the grammar exactly.
 */
const IMAGE_REF_CHARS = /^[A-Za-z0-9][A-Za-z0-9._:/@+[\]-]*$/;
/** Far above any valid reference (name 255 + tag 128 + a sha512 digest), as core bounds it. */
const MAX_IMAGE_REF_LENGTH = 1024;

type Params = { params: Record<string, string> };

/** The `{name}` of `/containers/{name}/…`: a name, id or unique id prefix. */
export function containerRef(ctx: Params): string {
  const ref = ctx.params.name ?? '';
  if (!CONTAINER_REF.test(ref)) throw notFound(`No such container: ${ref}`);
  return ref;
}

/** The `{id}` of `/exec/{id}/…`. */
export function execId(ctx: Params): string {
  const id = ctx.params.id ?? '';
  if (!EXEC_ID.test(id)) throw notFound(`No such exec instance: ${id}`);
  return id;
}

/** The `{name}` of `/images/{name}/…`: a reference, an id or an id prefix. */
export function imageRef(ctx: Params): string {
  const ref = ctx.params.name ?? '';
  if (ref.trim() === '') throw invalidArgument('image name cannot be blank');
  if (ref.length > MAX_IMAGE_REF_LENGTH || !IMAGE_REF_CHARS.test(ref)) {
    throw invalidArgument('invalid reference format');
  }
  return ref;
}
