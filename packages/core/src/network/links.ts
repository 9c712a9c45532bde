/**
 * Legacy links (`--link name[:alias]`) on the default bridge, as moby's `links` package makes
 * them: environment variables describing the linked container (its name, exposed ports, its own
 * environment) and a hosts entry `<ip> <alias> <short id> <name>`.
 */
import { invalidArgument } from '../errors.js';
import { parsePortKey } from './port-bindings.js';

export interface LinkSpec {
  /** The linked container's name or id, as given. */
  target: string;
  alias: string;
}

/** `web`, `web:alias`, or the stored `/web:/me/alias`. */
export function parseLink(text: string): LinkSpec {
  const parts = text.split(':');
  const target = (parts[0] ?? '').replace(/^\//, '');
  const aliasPart = parts.length > 1 ? (parts[1] ?? '') : target;
  const alias = aliasPart.slice(aliasPart.lastIndexOf('/') + 1);
  if (!target || !alias || parts.length > 2) throw invalidArgument(`invalid link format: ${text}`);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(alias)) throw invalidArgument(`invalid link alias: ${alias}`);
  return { target, alias };
}

/** moby's `links.Link.ToEnv`. */
export function linkEnv(opts: {
  alias: string;
  /** The linking container's name, without the slash. */
  parentName: string;
  ip: string;
  exposedPorts: Record<string, unknown> | null | undefined;
  env: string[];
}): string[] {
  const prefix = opts.alias.toUpperCase().replace(/-/g, '_');
  const out = [`${prefix}_NAME=/${opts.parentName}/${opts.alias}`];
  const ports = Object.keys(opts.exposedPorts ?? {})
    .map(parsePortKey)
    .sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
  const first = ports[0];
  if (first) out.push(`${prefix}_PORT=${first.protocol}://${opts.ip}:${first.port}`);
  for (const p of ports) {
    const key = `${prefix}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
    out.push(
      `${key}=${p.protocol}://${opts.ip}:${p.port}`,
      `${key}_ADDR=${opts.ip}`,
      `${key}_PORT=${p.port}`,
      `${key}_PROTO=${p.protocol}`,
    );
  }
  for (const entry of opts.env) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    if (key === 'HOME' || key === 'PATH') continue;
    out.push(`${prefix}_ENV_${key}=${entry.slice(eq + 1)}`);
  }
  return out;
}
