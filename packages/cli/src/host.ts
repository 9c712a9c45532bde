/**
 * Daemon addresses as docker writes them (`unix:///run/tsdocker.sock`, `tcp://127.0.0.1:2375`),
 * and which one a client command talks to: `-H`, else `TSDOCKER_HOST`, else `DOCKER_HOST`, else
 * the default socket.
 */
import { CliError } from './cli-errors.js';

export const DEFAULT_UNIX_SOCKET = '/run/tsdocker.sock';
export const DEFAULT_HOST = `unix://${DEFAULT_UNIX_SOCKET}`;
const DEFAULT_TCP_PORT = 2375;

export type DaemonHost =
  | { kind: 'unix'; url: string; socketPath: string }
  | { kind: 'tcp'; url: string; hostname: string; port: number };

/** Parses one address like docker's `opts.ParseHost` (no TLS): a bare `host:port` means tcp. */
export function parseDaemonHost(raw: string): DaemonHost {
  const value = raw.trim();
  if (value === '') return parseDaemonHost(DEFAULT_HOST);
  const sep = value.indexOf('://');
  const proto = sep === -1 ? 'tcp' : value.slice(0, sep).toLowerCase();
  const rest = sep === -1 ? value : value.slice(sep + 3);
  if (proto === 'unix') {
    const socketPath = rest === '' ? DEFAULT_UNIX_SOCKET : rest;
    if (!socketPath.startsWith('/'))
      throw new CliError(`invalid bind address (${raw}): unix socket path must be absolute`);
    return { kind: 'unix', url: `unix://${socketPath}`, socketPath };
  }
  if (proto === 'tcp') {
    const hostPort = rest.replace(/\/+$/, '');
    if (hostPort.includes('/'))
      throw new CliError(`invalid bind address (${raw}): should not contain a path element`);
    const match = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d*))?$/.exec(hostPort);
    if (!match) throw new CliError(`invalid bind address (${raw})`);
    const hostname = match[1] ?? (match[2] || 'localhost');
    const port = match[3] ? Number(match[3]) : DEFAULT_TCP_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new CliError(`invalid bind address (${raw}): invalid port`);
    const shown = hostname.includes(':') ? `[${hostname}]` : hostname;
    return { kind: 'tcp', url: `tcp://${shown}:${port}`, hostname, port };
  }
  throw new CliError(`invalid bind address (${raw}): unsupported proto '${proto}'`);
}

/** Picks the daemon a client command talks to. Docker allows only one `-H` for a client. */
export function resolveClientHost(flagHosts: readonly string[], env: NodeJS.ProcessEnv): DaemonHost {
  if (flagHosts.length > 1) throw new CliError('Specify only one -H');
  const chosen = flagHosts[0] || env.TSDOCKER_HOST || env.DOCKER_HOST || DEFAULT_HOST;
  return parseDaemonHost(chosen);
}
