/**
 * `tsdocker daemon` flags (dockerd's names) → what `loadDaemonConfig` takes. Only flags the user
 * gave become overrides, so the config file keeps every key the command line did not mention.
 */

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
  /** dockerd's `--tls`; only `false` is accepted (no TLS yet), which allows plain-TCP hosts. */
  tls?: string;
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

/**
 * Whether `tcp://` hosts may be served without TLS. Like dockerd 27+, plain TCP must be asked for
 * with `--tls=false`: anyone who reaches the port controls the host as root.
 */
export function insecureTcpAllowed(flags: Pick<DaemonFlags, 'tls'>): boolean {
  if (flags.tls === undefined) return false;
  const value = flags.tls.toLowerCase();
  if (value === 'false' || value === '0') return true;
  if (value === 'true' || value === '1') {
    throw new DaemonFlagError(
      'TLS is not supported by tsdocker yet: listen on a unix socket, or pass --tls=false to serve tcp:// hosts in plain text',
    );
  }
  throw new DaemonFlagError(`invalid argument "${flags.tls}" for "--tls" flag: expected true or false`);
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
