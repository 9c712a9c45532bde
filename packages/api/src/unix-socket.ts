/**
 * Binding the API's unix socket safely:
 *
 * - A socket file already at the path is removed only if nothing answers on it (a stale file
 *   from a crash); a live daemon or a non-socket file is an error.
 * - The socket is never reachable with wider permissions than 0660: it is bound inside a fresh
 *   0700 directory next to the target, chmod'ed (and chown'ed to the group) there, then renamed
 *   into place. No process-wide umask juggling, so concurrent file creation elsewhere in the
 *   daemon is unaffected.
 */
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rename, rm, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import type { ApiLogger } from './respond.js';

/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;
const SOCKET_MODE = 0o660;
/** dockerd's default socket group: it may be missing (the socket then stays root's only). */
export const DEFAULT_SOCKET_GROUP = 'docker';

export interface BoundUnixSocket {
  path: string;
  /** Removes the socket file if it is still the one we created. */
  remove(): Promise<void>;
}

export async function bindUnixSocket(
  server: Server,
  path: string,
  opts: { group?: string; logger: ApiLogger },
): Promise<BoundUnixSocket> {
  if (!isAbsolute(path))
    throw new Error(`invalid unix socket path ${JSON.stringify(path)}: must be absolute`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`unix socket path ${path} is too long (at most ${MAX_SOCKET_PATH_BYTES} bytes)`);
  }
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: 0o755 });
  await removeStaleSocket(path, opts.logger);
  const gid = await socketGroupId(opts.group, path, opts.logger);

  // mkdtemp creates the directory 0700: nobody else can reach the socket while it is set up.
  const stagingDir = await mkdtemp(join(directory, '.tsdocker-api-'));
  const stagingPath = join(stagingDir, 's');
  try {
    if (Buffer.byteLength(stagingPath) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(
        `unix socket path ${path} is too long to stage safely (at most ${MAX_SOCKET_PATH_BYTES - 20} bytes)`,
      );
    }
    await listenOn(server, stagingPath);
    await chmod(stagingPath, SOCKET_MODE);
    if (gid !== undefined) await chown(stagingPath, -1, gid);
    await rename(stagingPath, path);
  } catch (err) {
    await closeServer(server);
    await rm(stagingDir, { recursive: true, force: true });
    throw err;
  }
  await rm(stagingDir, { recursive: true, force: true });

  const { ino } = await lstat(path);
  return {
    path,
    async remove() {
      try {
        // Only our own file: a newer daemon may have taken the path over since.
        if ((await lstat(path)).ino === ino) await unlink(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    },
  };
}

/**
 * The gid to give the socket. As in dockerd, a missing default group is a warning and any other
 * missing group an error: an operator who names a group expects its members to get in.
 */
async function socketGroupId(group: string | undefined, path: string, logger: ApiLogger) {
  if (group === undefined || group === '') return undefined;
  const gid = await lookupGroupId(group);
  if (gid !== undefined) return gid;
  if (group !== DEFAULT_SOCKET_GROUP) throw new Error(`cannot listen on ${path}: group ${group} not found`);
  logger.warn(`group ${group} not found; the API socket is accessible to root only`, { path });
  return undefined;
}

async function removeStaleSocket(path: string, logger: ApiLogger): Promise<void> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stats.isSocket()) throw new Error(`cannot listen on ${path}: the path exists and is not a socket`);
  if (await somethingAnswers(path)) throw new Error(`cannot listen on ${path}: another daemon is serving it`);
  logger.info('removing stale API socket', { path });
  await unlink(path);
}

function somethingAnswers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      probe.destroy();
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(new Error(`cannot listen on ${path}: probing the existing socket failed: ${err.message}`));
    });
  });
}

/** A numeric gid, or a group name looked up in /etc/group (Node has no getgrnam). */
export async function lookupGroupId(group: string): Promise<number | undefined> {
  if (/^\d+$/.test(group)) return Number(group);
  let text: string;
  try {
    text = await readFile('/etc/group', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

export function listenOn(server: Server, target: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    if (typeof target === 'string') server.listen(target, onListening);
    else server.listen(target.port, target.host, onListening);
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
