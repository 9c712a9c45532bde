/**
 * A container's filesystem: `docker diff` (`GET /containers/{id}/changes`), `docker export`,
 * `docker commit` (`POST /commit`) and `docker cp` (`HEAD`/`GET`/`PUT /containers/{id}/archive`),
 * shaped as moby's container and image routers answer them (CLI-FLOWS §5.7, §5.16).
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerFilesService, PathStat } from '@tsdocker/core';
import { checkJsonContentType, decodeJsonBody, readRequestBody } from '../body.js';
import { invalidArgument, notSupported } from '../http-status.js';
import { sendEmpty, sendJson } from '../respond.js';
import type { HttpContext, Route } from '../router.js';
import { containerRef } from '../validation/path-params.js';

const TAR_CONTENT_TYPE = 'application/x-tar';
const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

const ref = containerRef;

function files(ctx: HttpContext): ContainerFilesService {
  const service = ctx.services.containerFiles;
  if (!service) throw notSupported('this daemon does not give access to container filesystems');
  return service;
}

/** moby's `ArchiveFormValues` (the missing space is moby's). */
function archivePath(ctx: HttpContext): string {
  const path = ctx.query.string('path');
  if (path === '') throw invalidArgument('bad parameter: pathcannot be empty');
  return path;
}

/** The stat as moby sends it: JSON in Go's field order, base64 (standard alphabet). */
function encodePathStat(stat: PathStat): string {
  const json = JSON.stringify({
    name: stat.name,
    size: stat.size,
    mode: stat.mode,
    mtime: stat.mtime,
    linkTarget: stat.linkTarget,
  });
  return Buffer.from(json, 'utf8').toString('base64');
}

/**
 * Streams a tar as the 200 body. Once the body has begun a failure can only cut the connection;
 * destroying the archive (also when the client goes away) releases the container.
 */
async function sendTar(
  ctx: HttpContext,
  archive: Readable,
  headers: Record<string, string> = {},
): Promise<void> {
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': TAR_CONTENT_TYPE, ...headers });
  try {
    await pipeline(archive, res);
  } catch (err) {
    archive.destroy();
    if (!res.writableFinished) {
      if (!res.destroyed) ctx.logger.warn('archive stream failed', { error: String(err) });
      res.destroy();
    }
  }
}

export const containerFileRoutes: Route[] = [
  {
    method: 'GET',
    path: '/containers/{name}/changes',
    async handle(ctx) {
      const changes = await files(ctx).changes(ref(ctx));
      // moby's nil slice: no changes is `null`.
      sendJson(ctx.res, 200, changes.length > 0 ? changes : null);
    },
  },
  {
    method: 'GET',
    path: '/containers/{name}/export',
    async handle(ctx) {
      await sendTar(ctx, await files(ctx).export(ref(ctx)));
    },
  },
  {
    method: 'POST',
    path: '/commit',
    async handle(ctx) {
      const { query } = ctx;
      // The body, when there is one, is a container.Config replacing the container's own.
      checkJsonContentType(ctx.req.headers);
      const config = decodeJsonBody(await readRequestBody(ctx.req), false);
      const created = await files(ctx).commit({
        container: query.string('container'),
        repo: query.string('repo'),
        tag: query.string('tag'),
        author: query.string('author'),
        comment: query.string('comment'),
        changes: query.all('changes'),
        pause: query.boolOr('pause', true),
        config,
      });
      sendJson(ctx.res, 201, { Id: created.Id });
    },
  },
  {
    method: 'HEAD',
    path: '/containers/{name}/archive',
    async handle(ctx) {
      const stat = await files(ctx).statPath(ref(ctx), archivePath(ctx));
      ctx.res.setHeader(PATH_STAT_HEADER, encodePathStat(stat));
      sendEmpty(ctx.res, 200);
    },
  },
  {
    method: 'GET',
    path: '/containers/{name}/archive',
    async handle(ctx) {
      const { stat, archive } = await files(ctx).getArchive(ref(ctx), archivePath(ctx));
      await sendTar(ctx, archive, { [PATH_STAT_HEADER]: encodePathStat(stat) });
    },
  },
  {
    method: 'PUT',
    path: '/containers/{name}/archive',
    async handle(ctx) {
      const { query, req, res } = ctx;
      // A refused upload's unread rest is discarded by the server (unread-body.ts).
      await files(ctx).putArchive(ref(ctx), archivePath(ctx), req, {
        noOverwriteDirNonDir: query.bool('noOverwriteDirNonDir'),
        copyUIDGID: query.bool('copyUIDGID'),
      });
      sendEmpty(res, 200);
    },
  },
];
