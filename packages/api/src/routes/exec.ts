/**
 * Exec: create (`/containers/{name}/exec`), start (hijacked or plain), resize, inspect.
 */
import type { Attachment, DaemonServices, ExecStartOptions } from '@tsdocker/core';
import { serveAttachment } from '../attach-stream.js';
import { checkJsonContentType, decodeJsonBody, readJsonBody, requireJsonObject } from '../body.js';
import { parseDetachKeys } from '../detach-keys.js';
import { invalidArgument } from '../http-status.js';
import { sendEmpty, sendJson } from '../respond.js';
import type { Route } from '../router.js';
import { MEDIA_TYPE_MULTIPLEXED_STREAM, MEDIA_TYPE_RAW_STREAM } from '../stdcopy.js';
import { checkJsonStructure } from '../validation/json-body.js';
import { containerRef, execId } from '../validation/path-params.js';
import { versionAtLeast, versionBelow } from '../version.js';

/** `Cmd` is a string or a list in Docker (strslice); empty either way means no command. */
function hasCommand(cmd: unknown): boolean {
  if (cmd === undefined || cmd === null || cmd === '') return false;
  return !Array.isArray(cmd) || cmd.length > 0;
}

/** Validates the exec start body (`{"Detach","Tty","ConsoleSize"}`) field by field. */
export function parseExecStartBody(raw: unknown, apiVersion: string): ExecStartOptions {
  const body = raw === undefined || raw === null ? {} : requireJsonObject(raw);
  const flag = (name: string): boolean => {
    const value = body[name];
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') throw invalidArgument(`invalid JSON: ${name} must be a boolean`);
    return value;
  };
  const detach = flag('Detach');
  const tty = flag('Tty');
  let consoleSize: [number, number] | null = null;
  const size = body.ConsoleSize;
  if (size !== undefined && size !== null) {
    if (
      !Array.isArray(size) ||
      size.length !== 2 ||
      !size.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff)
    ) {
      throw invalidArgument(
        'invalid JSON: ConsoleSize must be an array of two non-negative integers [height, width]',
      );
    }
    consoleSize = [size[0] as number, size[1] as number];
  }
  // Not supported before 1.42, and meaningless without a TTY (moby drops it in both cases).
  if (versionBelow(apiVersion, '1.42') || !tty) consoleSize = null;
  return { detach, tty, consoleSize };
}

/** The exec's own detach keys (set at create), else the default sequence. */
async function execDetachKeys(
  services: DaemonServices,
  id: string,
  attachment: Attachment,
): Promise<Buffer | null> {
  if (!attachment.tty || !attachment.stdin) return null;
  const info = await services.execs.inspect(id).catch(() => undefined);
  const spec = typeof info?.DetachKeys === 'string' ? info.DetachKeys : '';
  try {
    return parseDetachKeys(spec);
  } catch {
    // Validated when the exec was created; fall back rather than fail a running session.
    return parseDetachKeys('');
  }
}

export const execRoutes: Route[] = [
  {
    method: 'POST',
    path: '/containers/{name}/exec',
    async handle(ctx) {
      const raw = await readJsonBody(ctx.req, false);
      const body = raw === undefined ? {} : { ...requireJsonObject(raw) };
      checkJsonStructure(body);
      if (!hasCommand(body.Cmd)) throw invalidArgument('No exec command specified');
      // moby refuses bad detach keys at create, not when the session starts.
      if (typeof body.DetachKeys === 'string') parseDetachKeys(body.DetachKeys);
      if (versionBelow(ctx.apiVersion, '1.42')) delete body.ConsoleSize;
      const created = await ctx.services.execs.create(containerRef(ctx), body);
      sendJson(ctx.res, 201, { Id: created.Id });
    },
  },
  {
    method: 'POST',
    path: '/exec/{id}/start',
    async stream(ctx) {
      const { conn } = ctx;
      checkJsonContentType(ctx.req.headers);
      // The body arrives in the upgrade's `head` (or just after); what follows it is stdin.
      const options = parseExecStartBody(decodeJsonBody(await conn.readBody(), false), ctx.apiVersion);
      const id = execId(ctx);
      const attachment = await ctx.services.execs.start(id, options);
      if (options.detach || attachment === null) {
        attachment?.detach();
        conn.finishEmpty();
        return;
      }
      const multiplexed = !attachment.tty && conn.upgraded && versionAtLeast(ctx.apiVersion, '1.42');
      await serveAttachment(attachment, conn, {
        contentType: multiplexed ? MEDIA_TYPE_MULTIPLEXED_STREAM : MEDIA_TYPE_RAW_STREAM,
        useStdin: true,
        detachKeys: await execDetachKeys(ctx.services, id, attachment),
        logger: ctx.logger,
      });
    },
  },
  {
    method: 'POST',
    path: '/exec/{id}/resize',
    async handle(ctx) {
      const rows = ctx.query.uint32('h', 'invalid resize height');
      const cols = ctx.query.uint32('w', 'invalid resize width');
      await ctx.services.execs.resize(execId(ctx), rows, cols);
      sendEmpty(ctx.res, 200);
    },
  },
  {
    method: 'GET',
    path: '/exec/{id}/json',
    async handle(ctx) {
      sendJson(ctx.res, 200, await ctx.services.execs.inspect(execId(ctx)));
    },
  },
];
