/**
 * The daemon's configuration: Docker's `daemon.json` keys where they exist, plus `exec-driver`.
 * Validated with zod; unknown keys are an error (moby refuses them too), so a typo never silently
 * falls back to a default.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod/v3';
import { invalidArgument } from '../errors.js';

const MAX_CONFIG_BYTES = 1024 * 1024;

export const daemonConfigSchema = z
  .object({
    'data-root': z.string().startsWith('/', 'must be an absolute path').default('/var/lib/tsdocker'),
    'exec-root': z.string().startsWith('/', 'must be an absolute path').default('/run/tsdocker'),
    hosts: z.array(z.string().min(1)).default(['unix:///run/tsdocker.sock']),
    group: z.string().default('docker'),
    'storage-driver': z.string().min(1).optional(),
    'storage-opts': z.array(z.string()).default([]),
    'exec-driver': z.string().min(1).default('native'),
    'exec-opts': z.array(z.string()).default([]),
    'log-driver': z.enum(['json-file']).default('json-file'),
    'log-opts': z.record(z.string(), z.string()).default({}),
    'log-level': z.enum(['debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    debug: z.boolean().default(false),
    'shutdown-timeout': z.number().int().safe().min(0).default(15),
    labels: z.array(z.string()).default([]),
    // TLS for tcp:// hosts, dockerd's keys. Left unset, `tcp://` hosts are refused; `tls: false`
    // (or `tlsverify: false`) must be said explicitly to serve them without client certificates.
    tls: z.boolean().optional(),
    tlsverify: z.boolean().optional(),
    tlscacert: z.string().startsWith('/', 'must be an absolute path').optional(),
    tlscert: z.string().startsWith('/', 'must be an absolute path').optional(),
    tlskey: z.string().startsWith('/', 'must be an absolute path').optional(),
    'network-driver': z.string().min(1).default('bridge'),
    /** Driver options as `key=value` (bridge: `chain-prefix`, `bridge-prefix`, `veth-prefix`). */
    'network-opts': z.array(z.string()).default([]),
    /** The default bridge's interface name (dockerd's `bridge`, which is `docker0` there). */
    bridge: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/, 'must be an interface name of at most 15 characters')
      .default('tsdocker0'),
    /** The default bridge's gateway address and subnet, e.g. `172.30.0.1/16`. */
    bip: z.string().min(1).optional(),
    'default-address-pools': z
      .array(z.object({ base: z.string().min(1), size: z.number().int().safe().min(1).max(32) }).strict())
      .optional(),
    iptables: z.boolean().default(true),
    'ip-forward': z.boolean().default(true),
    'userland-proxy': z.boolean().default(true),
  })
  .strict();

export type DaemonConfig = z.output<typeof daemonConfigSchema>;
export type DaemonConfigInput = z.input<typeof daemonConfigSchema>;

/** Formats zod issues the way dockerd words config errors: one line per bad key. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return `the following directives don't match any configuration option: ${issue.keys.join(', ')}`;
      const key = issue.path.join('.');
      return key ? `${key}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

export function parseDaemonConfig(raw: unknown, source = 'configuration'): DaemonConfig {
  const parsed = daemonConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw invalidArgument(`invalid ${source}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * Reads the config file (a missing default file is fine; a missing explicit one is not), then
 * applies command-line overrides on top, like dockerd (a flag and the same key in the file is a
 * conflict there; here the flag wins, which is friendlier for tests and the quick start).
 */
export async function loadDaemonConfig(opts: {
  configFile?: string;
  configFileRequired?: boolean;
  overrides?: DaemonConfigInput;
}): Promise<DaemonConfig> {
  let fromFile: Record<string, unknown> = {};
  if (opts.configFile) {
    let text: string | undefined;
    try {
      text = await readFile(opts.configFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || opts.configFileRequired) {
        throw invalidArgument(
          `unable to read config file ${opts.configFile}: ${(err as Error).message}`,
          err,
        );
      }
    }
    if (text !== undefined) {
      if (text.length > MAX_CONFIG_BYTES)
        throw invalidArgument(`config file ${opts.configFile} is too large`);
      try {
        const json: unknown = JSON.parse(text);
        if (typeof json !== 'object' || json === null || Array.isArray(json))
          throw new Error('not a JSON object');
        fromFile = json as Record<string, unknown>;
      } catch (err) {
        throw invalidArgument(`invalid config file ${opts.configFile}: ${(err as Error).message}`, err);
      }
    }
  }
  const merged = { ...fromFile, ...stripUndefined(opts.overrides ?? {}) };
  return parseDaemonConfig(merged, opts.configFile ? `config file ${opts.configFile}` : 'configuration');
}

function stripUndefined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}
