/**
 * `tsdocker daemon` flags (dockerd's names) → what `loadDaemonConfig` takes. Only flags the user
 * gave become overrides, so the config file keeps every key the command line did not mention.
 */

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const DEFAULT_CONFIG_FILE = '/etc/tsdocker/daemon.json';

export interface DaemonFlags {
  configFile?: string;
  dataRoot?: string;
  execRoot?: string;
  host: string[];
  storageDriver?: string;
  storageOpt: string[];
  execDriver?: string;
  execOpt: string[];
  group?: string;
  debug?: boolean;
  logLevel?: string;
  shutdownTimeout?: string;
  label: string[];
  /** dockerd's `--tls` (`true` when given bare): serve tcp:// hosts over TLS; `=false` allows plain text. */
  tls?: string | boolean;
  /** dockerd's `--tlsverify` (implies `--tls`): require client certificates signed by `--tlscacert`. */
  tlsverify?: string | boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** The subset of daemon.json keys that flags can set. Core validates the values. */
export interface DaemonConfigOverrides {
  'data-root'?: string;
  'exec-root'?: string;
  hosts?: string[];
  group?: string;
  'storage-driver'?: string;
  'storage-opts'?: string[];
  'exec-driver'?: string;
  'exec-opts'?: string[];
  'log-level'?: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  debug?: boolean;
  'shutdown-timeout'?: number;
  labels?: string[];
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

export interface ConfigLoadOptions {
  /** Omitted when the default file does not exist, so errors then speak of "configuration". */
  configFile?: string;
  /** A file named on the command line must exist; the default one may be missing. */
  configFileRequired: boolean;
  overrides: DaemonConfigOverrides;
}

export class DaemonFlagError extends Error {}

const nonEmpty = (list: string[]) => (list.length > 0 ? list : undefined);

export function configLoadOptions(flags: DaemonFlags): ConfigLoadOptions {
  let shutdownTimeout: number | undefined;
  if (flags.shutdownTimeout !== undefined) {
    if (!/^\d+$/.test(flags.shutdownTimeout)) {
      throw new DaemonFlagError(
        `invalid argument "${flags.shutdownTimeout}" for "--shutdown-timeout" flag: must be a whole number of seconds`,
      );
    }
    shutdownTimeout = Number(flags.shutdownTimeout);
  }
  const overrides: DaemonConfigOverrides = {
    'data-root': flags.dataRoot,
    'exec-root': flags.execRoot,
    hosts: nonEmpty(flags.host),
    group: flags.group,
    'storage-driver': flags.storageDriver,
    'storage-opts': nonEmpty(flags.storageOpt),
    'exec-driver': flags.execDriver,
    'exec-opts': nonEmpty(flags.execOpt),
    'log-level': flags.logLevel as DaemonConfigOverrides['log-level'],
    debug: flags.debug ? true : undefined,
    'shutdown-timeout': shutdownTimeout,
    labels: nonEmpty(flags.label),
    tls: parseBoolFlag(flags.tls, 'tls'),
    tlsverify: parseBoolFlag(flags.tlsverify, 'tlsverify'),
    // Relative to where the command runs, as dockerd reads them.
    tlscacert: flags.tlscacert === undefined ? undefined : resolve(flags.tlscacert),
    tlscert: flags.tlscert === undefined ? undefined : resolve(flags.tlscert),
    tlskey: flags.tlskey === undefined ? undefined : resolve(flags.tlskey),
  };
  for (const key of Object.keys(overrides) as Array<keyof DaemonConfigOverrides>) {
    if (overrides[key] === undefined) delete overrides[key];
  }
  return {
    configFile: flags.configFile ?? DEFAULT_CONFIG_FILE,
    configFileRequired: flags.configFile !== undefined,
    overrides,
  };
}

/** Go's `strconv.ParseBool`, as pflag applies it to `--tls=<value>`; a bare flag is true. */
export function parseBoolFlag(value: string | boolean | undefined, name: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new DaemonFlagError(
    `invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

/** The TLS keys of the loaded configuration (daemon.json and flags merged). */
export interface TlsConfig {
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** What the API server gets: TLS files (if any) and whether unauthenticated TCP was asked for. */
export interface ApiSecurityOptions {
  tls?: { certFile: string; keyFile: string; caFile?: string; verifyClients: boolean };
  allowInsecureTcp: boolean;
}

/** dockerd's default certificate directory: `$DOCKER_CERT_PATH`, else `~/.docker`. */
export function defaultCertDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CERT_PATH || join(homedir(), '.docker');
}

/**
 * dockerd 27's rules for `tcp://` hosts: `tlsverify` (which implies `tls`) is mutual TLS, the
 * only authenticated mode. Anything less — plain text, or TLS that accepts any client — must be
 * asked for by setting `tls` or `tlsverify` to false explicitly; the API server refuses it
 * otherwise and warns loudly when it is asked for.
 */
export function apiSecurityOptions(config: TlsConfig, certDir = defaultCertDir()): ApiSecurityOptions {
  const verifyClients = config.tlsverify === true;
  const allowInsecureTcp = !verifyClients && (config.tls === false || config.tlsverify === false);
  if (!verifyClients && config.tls !== true) return { allowInsecureTcp };
  const tls: NonNullable<ApiSecurityOptions['tls']> = {
    certFile: config.tlscert ?? join(certDir, 'cert.pem'),
    keyFile: config.tlskey ?? join(certDir, 'key.pem'),
    verifyClients,
  };
  // Without verification the CA is only loaded when named (dockerd does the same).
  if (verifyClients || config.tlscacert !== undefined)
    tls.caFile = config.tlscacert ?? join(certDir, 'ca.pem');
  return { tls, allowInsecureTcp };
}

/** `-D` wins over `log-level`, as in dockerd. */
export function effectiveLogLevel(config: {
  debug: boolean;
  'log-level': string;
}): 'debug' | 'info' | 'warn' | 'error' | 'fatal' {
  if (config.debug) return 'debug';
  const level = config['log-level'];
  return level === 'debug' || level === 'warn' || level === 'error' || level === 'fatal' ? level : 'info';
}
