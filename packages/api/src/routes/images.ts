/**
 * `/images/...`. Image references arrive in the path unescaped (`/images/myrepo/bb:v1/json`); the
 * router's greedy `{name}` takes everything between `/images/` and the route's suffix.
 */
import { pipeline } from 'node:stream/promises';
import type { DaemonServices } from '@tsdocker/core';
import { addFilter, parseFilters } from '../filters.js';
import { invalidArgument, notFound, notSupported } from '../http-status.js';
import { JsonMessageStream } from '../json-stream.js';
import { parsePlatformJson, parsePlatformString } from '../query.js';
import { sendEmpty, sendJson } from '../respond.js';
import type { HttpContext, Route } from '../router.js';
import { discardUnreadBody } from '../unread-body.js';
import { imageRef } from '../validation/path-params.js';
import { versionAtLeast, versionBelow } from '../version.js';

/** The `{name}` path parameter: a reference, id or id prefix (checked). */
const imageName = (ctx: { params: Record<string, string> }): string => imageRef(ctx);

/** Adds `:latest` to a reference without tag or digest, as Docker's messages show it. */
export function withDefaultTag(reference: string): string {
  if (reference.includes('@')) return reference;
  const lastComponent = reference.slice(reference.lastIndexOf('/') + 1);
  return lastComponent.includes(':') ? reference : `${reference}:latest`;
}

/**
 * `platform` on inspect/history is a JSON OCI platform. The store keeps one platform per image,
 * so a mismatch is "not found" (as moby says when the image exists for another platform).
 */
async function checkImagePlatform(
  ctx: HttpContext,
  services: DaemonServices,
  sinceVersion: string,
): Promise<void> {
  if (!versionAtLeast(ctx.apiVersion, sinceVersion)) return;
  const wanted = parsePlatformJson(ctx.query.string('platform'));
  if (!wanted) return;
  const image = await services.images.inspect(imageName(ctx));
  const os = typeof image.Os === 'string' ? image.Os : '';
  const architecture = typeof image.Architecture === 'string' ? image.Architecture : '';
  const variant = typeof image.Variant === 'string' ? image.Variant : '';
  const matches =
    wanted.os === os &&
    wanted.architecture === architecture &&
    (wanted.variant === undefined || wanted.variant === variant);
  if (!matches) {
    const show = (p: { os: string; architecture: string; variant?: string }) =>
      [p.os, p.architecture, p.variant].filter((part) => part).join('/');
    throw notFound(
      `image with reference ${imageName(ctx)} was found but does not match the specified platform: wanted ${show(wanted)}, actual: ${show({ os, architecture, variant })}`,
    );
  }
}

async function createImage(ctx: HttpContext): Promise<void> {
  const { query, res } = ctx;
  const fromImage = query.string('fromImage');
  const fromSrc = query.string('fromSrc');
  const platform = versionAtLeast(ctx.apiVersion, '1.32')
    ? parsePlatformString(query.string('platform'))
    : undefined;

  if (fromImage !== '') {
    // Before any output, so `docker run` prints "Unable to find image …" and then this, exit 125.
    const tag = query.string('tag');
    const reference =
      tag === '' ? withDefaultTag(fromImage) : `${fromImage}${tag.includes(':') ? '@' : ':'}${tag}`;
    throw notFound(
      `cannot pull ${reference}: pulling from registries is not supported by tsdocker yet; add the image with "docker load" or "docker import"`,
    );
  }
  if (fromSrc === '') throw invalidArgument('either fromImage or fromSrc must be set');
  if (fromSrc !== '-') {
    throw notSupported(
      `importing from a URL (${fromSrc}) is not supported by tsdocker yet; pipe the archive in with "docker import -"`,
    );
  }

  const stream = new JsonMessageStream(res);
  try {
    // The service reports progress, ending with moby's single `{"status":"sha256:…"}` line.
    await ctx.services.images.import({
      source: ctx.req,
      repo: query.optionalString('repo'),
      tag: query.optionalString('tag'),
      changes: query.all('changes'),
      // moby's default comment for imports.
      message: query.optionalString('message') ?? `Imported from ${fromSrc}`,
      platform,
      progress: (message) => stream.write(message),
    });
  } catch (err) {
    // Before the first byte this is still an ordinary HTTP error.
    if (!stream.started) throw err;
    stream.writeError(err);
  }
  stream.end();
  discardUnreadBody(ctx.req, res);
}

/**
 * `POST /images/load`. moby answers with a 200 JSON stream whatever happens, a failure included
 * (as `errorDetail`); only a bad query is an ordinary HTTP error.
 */
async function loadImages(ctx: HttpContext): Promise<void> {
  const { query, res } = ctx;
  // moby's default is quiet; the CLI sends quiet=0 only for a terminal.
  const quiet = query.boolOr('quiet', true);
  const platform = versionAtLeast(ctx.apiVersion, '1.48')
    ? parsePlatformJson(query.string('platform'))
    : undefined;
  const stream = new JsonMessageStream(res);
  try {
    await ctx.services.images.load({
      source: ctx.req,
      quiet,
      platform,
      progress: (message) => stream.write(message),
    });
  } catch (err) {
    stream.writeError(err);
  }
  stream.end();
  // A load that failed midway leaves the rest of the upload unread.
  discardUnreadBody(ctx.req, res);
}

/** `GET /images/get?names=…` and `GET /images/{name}/get`: the images as a tar, streamed. */
async function saveImages(ctx: HttpContext, names: string[]): Promise<void> {
  const platform = versionAtLeast(ctx.apiVersion, '1.48')
    ? parsePlatformJson(ctx.query.string('platform'))
    : undefined;
  // Names are resolved before the first byte, so an unknown one is still an HTTP error.
  const archive = await ctx.services.images.save({ names, platform });
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await pipeline(archive, ctx.res);
  } catch {
    // Too late for a status: a cut connection tells the client the archive is incomplete.
    archive.destroy();
    ctx.res.destroy();
  }
}

export const imageRoutes: Route[] = [
  {
    method: 'GET',
    path: '/images/json',
    async handle(ctx) {
      const { query } = ctx;
      const filters = parseFilters(query.string('filters'));
      // API < 1.25 clients send `filter=<reference>` instead.
      const legacyFilter = query.optionalString('filter');
      if (versionBelow(ctx.apiVersion, '1.25') && legacyFilter !== undefined && !filters.reference) {
        addFilter(filters, 'reference', legacyFilter);
      }
      const images = await ctx.services.images.list({
        all: query.bool('all'),
        filters,
        digests: query.bool('digests'),
      });
      sendJson(ctx.res, 200, images);
    },
  },
  { method: 'POST', path: '/images/create', handle: createImage },
  { method: 'POST', path: '/images/load', handle: loadImages },
  {
    method: 'GET',
    path: '/images/get',
    handle: (ctx) => saveImages(ctx, ctx.query.all('names')),
  },
  {
    method: 'GET',
    path: '/images/{name}/get',
    handle: (ctx) => saveImages(ctx, [imageName(ctx)]),
  },
  {
    method: 'GET',
    path: '/images/{name}/json',
    async handle(ctx) {
      await checkImagePlatform(ctx, ctx.services, '1.49');
      sendJson(ctx.res, 200, await ctx.services.images.inspect(imageName(ctx)));
    },
  },
  {
    method: 'GET',
    path: '/images/{name}/history',
    async handle(ctx) {
      await checkImagePlatform(ctx, ctx.services, '1.48');
      sendJson(ctx.res, 200, await ctx.services.images.history(imageName(ctx)));
    },
  },
  {
    method: 'POST',
    path: '/images/{name}/tag',
    async handle(ctx) {
      const repo = ctx.query.string('repo');
      if (repo === '') throw invalidArgument('repository name must have at least one component');
      await ctx.services.images.tag(imageName(ctx), repo, ctx.query.optionalString('tag'));
      sendEmpty(ctx.res, 201);
    },
  },
  {
    method: 'DELETE',
    path: '/images/{name}',
    async handle(ctx) {
      const name = imageName(ctx);
      if (name.trim() === '') throw invalidArgument('image name cannot be blank');
      const removed = await ctx.services.images.remove(name, {
        force: ctx.query.bool('force'),
        noprune: ctx.query.bool('noprune'),
      });
      sendJson(ctx.res, 200, removed);
    },
  },
];
