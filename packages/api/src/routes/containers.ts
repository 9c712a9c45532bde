/**
 * `/containers/...`: thin handlers — parse and validate the request like moby's container router,
 * call `services.containers`, shape the response.
 */
import {
  type AttachOptions,
  type LogsOptions,
  TsdockerError,
  type WaitCondition,
  type WaitResult,
} from '@tsdocker/core';
import { pipeOutput, serveAttachment } from '../attach-stream.js';
import { checkJsonContentType, decodeJsonBody, readRequestBody, requireJsonObject } from '../body.js';
import { parseDetachKeys } from '../detach-keys.js';
import { addFilter, parseFilters } from '../filters.js';
import { ResponseSink } from '../hijack.js';
import { errorResponseFor, invalidArgument, notFound, notSupported } from '../http-status.js';
import { parsePlatformString, parseTail, parseUnixTimestamp, quote } from '../query.js';
import { JSON_CONTENT_TYPE, jsonText, sendEmpty, sendJson } from '../respond.js';
import type { HttpContext, Route } from '../router.js';
import { MEDIA_TYPE_MULTIPLEXED_STREAM, MEDIA_TYPE_RAW_STREAM } from '../stdcopy.js';
import { checkJsonStructure } from '../validation/json-body.js';
import { containerRef } from '../validation/path-params.js';
import { versionAtLeast, versionBelow } from '../version.js';
import { containerFileRoutes } from './container-files.js';

const WAIT_CONDITIONS: readonly WaitCondition[] = ['not-running', 'next-exit', 'removed'];

/** `name` path parameter, i.e. the container reference exactly as the client typed it (checked). */
const ref = (ctx: { params: Record<string, string> }): string => containerRef(ctx);

/**
 * Stop timeouts beyond this many seconds (~24.8 days) would overflow a timer and fire at once;
 * a wait that long means "wait", so they are treated as -1 (no SIGKILL), what moby would do.
 */
const MAX_STOP_TIMEOUT_SECONDS = Math.floor(0x7fff_ffff / 1000);

/** `t` and `signal` for stop/restart (`signal` only exists from API 1.42). */
function stopOptions(ctx: HttpContext): { timeout?: number; signal?: string } {
  const options: { timeout?: number; signal?: string } = {};
  const timeout = ctx.query.optionalInt('t');
  if (timeout !== undefined) options.timeout = timeout > MAX_STOP_TIMEOUT_SECONDS ? -1 : timeout;
  const signal = ctx.query.optionalString('signal');
  if (signal !== undefined && versionAtLeast(ctx.apiVersion, '1.42')) options.signal = signal;
  return options;
}

/** moby's router prefixes kill errors (`cannot kill container: x: …`); keep the error's kind. */
function prefixError(err: unknown, prefix: string): unknown {
  if (!TsdockerError.is(err) || err.message.startsWith(prefix)) return err;
  return new TsdockerError(err.kind, `${prefix}: ${err.message}`, { cause: err });
}

/**
 * Version-dependent adjustments moby's router makes to a create body before the daemon sees it.
 * Works on a shallow copy; core validates everything else.
 */
function applyCreateCompat(body: Record<string, unknown>, apiVersion: string): Record<string, unknown> {
  const hostConfig = body.HostConfig;
  if (typeof hostConfig !== 'object' || hostConfig === null || Array.isArray(hostConfig)) return body;
  const adjusted: Record<string, unknown> = { ...(hostConfig as Record<string, unknown>) };
  // API < 1.25 clients remove `--rm` containers themselves.
  if (versionBelow(apiVersion, '1.25')) adjusted.AutoRemove = false;
  // Linux daemons ignored ConsoleSize before 1.42.
  if (versionBelow(apiVersion, '1.42')) adjusted.ConsoleSize = [0, 0];
  return { ...body, HostConfig: adjusted };
}

async function waitForContainer(ctx: HttpContext): Promise<void> {
  const { res, query } = ctx;
  // Before 1.30 there was no condition and the headers came with the result.
  const legacy = versionBelow(ctx.apiVersion, '1.30');
  let condition: WaitCondition = 'not-running';
  if (!legacy) {
    const raw = query.string('condition');
    if (raw !== '') {
      const known = WAIT_CONDITIONS.find((c) => c === raw);
      if (!known) throw invalidArgument(`invalid condition: ${quote(raw)}`);
      condition = known;
    }
  }

  // `docker run -d` abandons its wait: drop the waiter when the client goes away.
  const abort = new AbortController();
  const clientGone = new Promise<'gone'>((resolve) => {
    res.on('close', () => {
      if (res.writableFinished) return;
      abort.abort();
      resolve('gone');
    });
  });

  const { result } = await ctx.services.containers.wait(ref(ctx), condition, abort.signal);
  // Never leave a rejection unobserved, whoever gives up first.
  const settled = result.then(
    (value): WaitResult => value,
    (err: unknown): WaitResult => ({ StatusCode: -1, Error: { Message: errorResponseFor(err).message } }),
  );
  if (abort.signal.aborted) return;

  if (!legacy) {
    // The CLI sends `start` only after these headers arrive (CLI-FLOWS §4.4).
    res.writeHead(200, { 'Content-Type': JSON_CONTENT_TYPE });
    res.flushHeaders();
  }
  const outcome = await Promise.race([settled, clientGone]);
  if (outcome === 'gone' || res.destroyed) return;

  // Before 1.34 a failed removal was reported by an empty body.
  if (condition === 'removed' && outcome.Error && versionBelow(ctx.apiVersion, '1.34')) {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': JSON_CONTENT_TYPE });
    res.end();
    return;
  }
  // moby omits `Error` when there is none, and puts it first when there is.
  const body = outcome.Error
    ? { Error: { Message: outcome.Error.Message }, StatusCode: outcome.StatusCode }
    : { StatusCode: outcome.StatusCode };
  if (!res.headersSent) res.writeHead(200, { 'Content-Type': JSON_CONTENT_TYPE });
  res.end(jsonText(body));
}

async function streamLogs(ctx: HttpContext): Promise<void> {
  const { query, res } = ctx;
  // Validated before the 200 goes out: after that, errors can only travel in-band.
  const stdout = query.bool('stdout');
  const stderr = query.bool('stderr');
  if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
  const options: LogsOptions = {
    follow: query.bool('follow'),
    stdout,
    stderr,
    since: parseUnixTimestamp(query.string('since'), 'since'),
    until: parseUnixTimestamp(query.string('until'), 'until'),
    timestamps: query.bool('timestamps'),
    tail: parseTail(query.string('tail')),
    details: query.bool('details'),
  };

  const logs = await ctx.services.containers.logs(ref(ctx), options);
  const multiplexed = !logs.tty && versionAtLeast(ctx.apiVersion, '1.42');
  res.writeHead(200, { 'Content-Type': multiplexed ? MEDIA_TYPE_MULTIPLEXED_STREAM : MEDIA_TYPE_RAW_STREAM });
  res.flushHeaders();
  const outcome = await pipeOutput(logs.output, logs.tty, new ResponseSink(res), ctx.logger);
  if (outcome === 'client-gone') logs.close();
}

export const containerRoutes: Route[] = [
  {
    method: 'GET',
    path: '/containers/json',
    async handle(ctx) {
      const { query } = ctx;
      const filters = parseFilters(query.string('filters'));
      // Deprecated `since`/`before` parameters are the filters of the same name.
      for (const key of ['since', 'before']) {
        const value = query.optionalString(key);
        if (value !== undefined) addFilter(filters, key, value);
      }
      const limit = query.optionalInt('limit');
      const containers = await ctx.services.containers.list({
        all: query.bool('all'),
        // moby treats zero and negative limits as "no limit".
        limit: limit !== undefined && limit > 0 ? limit : undefined,
        size: query.bool('size'),
        filters,
      });
      sendJson(ctx.res, 200, containers);
    },
  },
  {
    method: 'POST',
    path: '/containers/create',
    async handle(ctx) {
      checkJsonContentType(ctx.req.headers);
      const name = ctx.query.optionalString('name');
      // `platform` exists from 1.41; older clients' values are ignored like moby does.
      const platform = versionAtLeast(ctx.apiVersion, '1.41')
        ? parsePlatformString(ctx.query.string('platform'))
        : undefined;
      const body = requireJsonObject(decodeJsonBody(await readRequestBody(ctx.req), true));
      checkJsonStructure(body);
      // dockerode repeats the options as query keys; only `name` and `platform` mean anything here.
      const created = await ctx.services.containers.create({
        name,
        platform,
        body: applyCreateCompat(body, ctx.apiVersion),
      });
      sendJson(ctx.res, 201, { Id: created.Id, Warnings: created.Warnings ?? [] });
    },
  },
  {
    method: 'GET',
    path: '/containers/{name}/json',
    async handle(ctx) {
      sendJson(
        ctx.res,
        200,
        await ctx.services.containers.inspect(ref(ctx), { size: ctx.query.bool('size') }),
      );
    },
  },
  {
    method: 'GET',
    path: '/containers/{name}/top',
    async handle(ctx) {
      sendJson(
        ctx.res,
        200,
        await ctx.services.containers.top(ref(ctx), ctx.query.optionalString('ps_args')),
      );
    },
  },
  { method: 'GET', path: '/containers/{name}/logs', handle: streamLogs },
  {
    method: 'POST',
    path: '/containers/{name}/resize',
    async handle(ctx) {
      const rows = ctx.query.uint32('h', 'invalid resize height');
      const cols = ctx.query.uint32('w', 'invalid resize width');
      await ctx.services.containers.resize(ref(ctx), rows, cols);
      sendEmpty(ctx.res, 200);
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/start',
    async handle(ctx) {
      // A HostConfig in the start body was removed in API 1.24; `{}` (7 bytes or fewer) is tolerated.
      const length = ctx.req.headers['content-length'];
      const chunked = ctx.req.headers['transfer-encoding'] !== undefined;
      if (chunked || (length !== undefined && Number(length) > 7)) {
        throw invalidArgument(
          'starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24',
        );
      }
      if (ctx.query.optionalString('checkpoint') !== undefined) {
        throw notSupported('starting a container from a checkpoint is not supported by tsdocker');
      }
      await ctx.services.containers.start(ref(ctx));
      sendEmpty(ctx.res, 204);
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/stop',
    async handle(ctx) {
      await ctx.services.containers.stop(ref(ctx), stopOptions(ctx));
      sendEmpty(ctx.res, 204);
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/restart',
    async handle(ctx) {
      await ctx.services.containers.restart(ref(ctx), stopOptions(ctx));
      sendEmpty(ctx.res, 204);
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/kill',
    async handle(ctx) {
      const name = ctx.params.name ?? '';
      try {
        await ctx.services.containers.kill(ref(ctx), ctx.query.optionalString('signal'));
      } catch (err) {
        throw prefixError(err, `cannot kill container: ${name}`);
      }
      sendEmpty(ctx.res, 204);
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/rename',
    async handle(ctx) {
      await ctx.services.containers.rename(ref(ctx), ctx.query.string('name'));
      sendEmpty(ctx.res, 204);
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/pause',
    async handle(ctx) {
      await ctx.services.containers.pause(ref(ctx));
      sendEmpty(ctx.res, 204);
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/unpause',
    async handle(ctx) {
      await ctx.services.containers.unpause(ref(ctx));
      sendEmpty(ctx.res, 204);
    },
  },
  { method: 'POST', path: '/containers/{name}/wait', handle: waitForContainer },
  {
    method: 'POST',
    path: '/containers/{name}/attach',
    async stream(ctx) {
      const { conn, query } = ctx;
      const detachKeys = parseDetachKeys(query.string('detachKeys'));
      // dockerode sends its options as a JSON body too; it comes before any stdin and is not stdin.
      if (!conn.bodyIsStdin) await conn.readBody();
      const options: AttachOptions = {
        stdin: query.bool('stdin'),
        stdout: query.bool('stdout'),
        stderr: query.bool('stderr'),
        stream: query.bool('stream'),
        logs: query.bool('logs'),
      };
      const attachment = await ctx.services.containers.attach(ref(ctx), options);
      // The multiplexed media type exists from 1.42 and only on upgraded connections (moby).
      const multiplexed = !attachment.tty && conn.upgraded && versionAtLeast(ctx.apiVersion, '1.42');
      await serveAttachment(attachment, conn, {
        contentType: multiplexed ? MEDIA_TYPE_MULTIPLEXED_STREAM : MEDIA_TYPE_RAW_STREAM,
        useStdin: options.stdin,
        detachKeys,
        logger: ctx.logger,
      });
    },
  },
  {
    method: 'DELETE',
    path: '/containers/{name}',
    async handle(ctx) {
      const { query } = ctx;
      const link = query.bool('link');
      // `rm --link` names a link (`parent/alias`), not a container.
      const linkName = ctx.params.name ?? '';
      if (link && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*\/[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(linkName))
        throw notFound(`No such container: ${linkName}`);
      await ctx.services.containers.remove(link ? linkName : ref(ctx), {
        force: query.bool('force'),
        volumes: query.bool('v'),
        link,
      });
      sendEmpty(ctx.res, 204);
    },
  },
  // diff, export, commit and cp
  ...containerFileRoutes,
];
