/**
 * `tsdocker daemon` in the foreground: load the config (file + flags), start core's Daemon with
 * our driver importer and logger, serve the Engine API on the configured hosts, and on SIGTERM or
 * SIGINT close the API, shut the daemon down and exit 0. Any start-up failure is one plain line on
 * stderr and exit 1.
 */
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { CLI_VERSION } from '../version.js';
import {
  type ApiSecurityOptions,
  apiSecurityOptions,
  type ConfigLoadOptions,
  configLoadOptions,
  type DaemonFlags,
  effectiveLogLevel,
  type TlsConfig,
} from './daemon-options.js';
import { createDaemonLogger, type DaemonLogger, type LogLevel } from './logger.js';
import { defaultModuleImporter, type ImportModule } from './module-importer.js';

/** What the daemon command needs from the config it loaded. */
export interface LoadedConfig extends TlsConfig {
  hosts: string[];
  group: string;
  debug: boolean;
  'log-level': string;
}

export interface RunningDaemon {
  shutdown(): Promise<void>;
}

export interface RunningApi {
  close(): Promise<void>;
  addresses: string[];
}

/** The parts of @tsdocker/core and @tsdocker/api the command drives; injectable for tests. */
export interface DaemonRuntime<
  Config extends LoadedConfig = LoadedConfig,
  Daemon extends RunningDaemon = RunningDaemon,
> {
  loadConfig(options: ConfigLoadOptions): Promise<Config>;
  startDaemon(config: Config, options: { importModule: ImportModule; logger: DaemonLogger }): Promise<Daemon>;
  startApi(
    daemon: Daemon,
    options: {
      hosts: string[];
      socketGroup?: string;
      logger: DaemonLogger;
      version: string;
      allowInsecureTcp: boolean;
      tls?: ApiSecurityOptions['tls'];
    },
  ): Promise<RunningApi>;
}

/** Where signals come from (the process, or a test's emitter). */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface RunDaemonOptions {
  runtime: DaemonRuntime;
  stderr: Writable;
  signals?: SignalSource;
  createLogger?: (level: LogLevel) => DaemonLogger;
  importModule?: ImportModule;
  /** Called on the third stop signal, when the user insists (dockerd exits 128+signal). */
  forceExit?: (code: number) => void;
  /** Whether a file exists (the default config file may be missing). */
  fileExists?: (path: string) => boolean;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };
const SIGNAL_WORDS: Partial<Record<NodeJS.Signals, string>> = { SIGINT: 'interrupt', SIGTERM: 'terminated' };
const FORCE_AFTER_SIGNALS = 3;

/** The real runtime, loaded only when the daemon runs so client commands stay light. */
export async function loadDaemonRuntime(): Promise<DaemonRuntime> {
  const core = await import('@tsdocker/core');
  const api = await import('@tsdocker/api');
  return {
    loadConfig: (options) => core.loadDaemonConfig(options),
    startDaemon: (config, options) => core.Daemon.start(config as never, options),
    startApi: (daemon, options) => api.startApiServer(daemon as never, options),
  } as DaemonRuntime;
}

/** A message on one line: multi-line causes would break `tsdocker daemon 2>&1 | tail -1`. */
function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, '; ').trim();
}

/** Runs until stopped; resolves with the process exit code. */
export async function runDaemon(flags: DaemonFlags, options: RunDaemonOptions): Promise<number> {
  const signals = options.signals ?? process;
  const { runtime, stderr } = options;

  // Listen for stop signals from the very start, so one that arrives during start-up still
  // ends in an orderly shutdown instead of killing a half-started daemon.
  let signalCount = 0;
  let logger: DaemonLogger | undefined;
  let resolveStop: (signal: NodeJS.Signals) => void = () => {};
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    resolveStop = resolve;
  });
  const onStopSignal = (signal: NodeJS.Signals) => () => {
    signalCount++;
    if (signalCount === 1) {
      logger?.info(`Processing signal '${SIGNAL_WORDS[signal] ?? signal}'`);
      resolveStop(signal);
    } else if (signalCount >= FORCE_AFTER_SIGNALS) {
      logger?.warn(`Forcing tsdocker daemon shutdown without cleanup; ${signalCount} interrupts received`);
      (options.forceExit ?? ((code) => process.exit(code)))(128 + (SIGNAL_NUMBERS[signal] ?? 15));
    } else {
      logger?.info(`Already shutting down; send ${FORCE_AFTER_SIGNALS - signalCount} more to force`);
    }
  };
  const onHangup = () =>
    logger?.warn('SIGHUP received: reloading the configuration is not supported; ignoring');
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ['SIGINT', onStopSignal('SIGINT')],
    ['SIGTERM', onStopSignal('SIGTERM')],
    ['SIGHUP', onHangup],
  ];
  for (const [signal, handler] of handlers) signals.on(signal, handler);

  try {
    let config: LoadedConfig;
    let daemon: RunningDaemon;
    let api: RunningApi;
    try {
      const loadOptions = configLoadOptions(flags);
      const exists = options.fileExists ?? existsSync;
      if (!loadOptions.configFileRequired && loadOptions.configFile && !exists(loadOptions.configFile)) {
        delete loadOptions.configFile;
      }
      config = await runtime.loadConfig(loadOptions);
      logger = (options.createLogger ?? createDaemonLogger)(effectiveLogLevel(config));
      logger.info('Starting up', { version: CLI_VERSION });
      daemon = await runtime.startDaemon(config, {
        importModule: options.importModule ?? defaultModuleImporter(),
        logger,
      });
    } catch (err) {
      stderr.write(`failed to start daemon: ${oneLine(err)}\n`);
      return 1;
    }
    try {
      api = await runtime.startApi(daemon, {
        hosts: config.hosts,
        socketGroup: config.group,
        logger,
        version: CLI_VERSION,
        ...apiSecurityOptions(config),
      });
    } catch (err) {
      await daemon.shutdown().catch((shutdownErr: unknown) => {
        logger?.error('Error shutting down the daemon after a failed start', { err: shutdownErr });
      });
      stderr.write(`failed to start daemon: ${oneLine(err)}\n`);
      return 1;
    }
    // The API server logs each address it listens on itself.
    logger.info('Daemon has completed initialization', { addresses: api.addresses });

    await stopRequested;
    let exitCode = 0;
    try {
      await api.close();
    } catch (err) {
      logger.error('Error closing the API server', { err });
      exitCode = 1;
    }
    try {
      await daemon.shutdown();
    } catch (err) {
      logger.error('Error shutting down the daemon', { err });
      exitCode = 1;
    }
    logger.info('Daemon shutdown complete');
    return exitCode;
  } finally {
    for (const [signal, handler] of handlers) signals.off(signal, handler);
  }
}
