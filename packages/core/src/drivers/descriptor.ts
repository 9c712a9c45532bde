/**
 * How a driver package presents itself. A driver package default-exports a descriptor, never an
 * instance: importing it has no side effects, and the daemon's loader decides when to create one.
 */
import type { ExecDriver } from './exec-driver.js';
import type { GraphDriver } from './graph-driver.js';
import type { NetworkDriver } from './network-driver.js';

/** The driver-API major version this copy of core speaks. The loader refuses any other. */
export const DRIVER_API_VERSION = 1;

export type DriverKind = 'graph' | 'exec' | 'network';

export interface DriverInstances {
  graph: GraphDriver;
  exec: ExecDriver;
  network: NetworkDriver;
}

/** A minimal structured logger; the daemon passes a child logger named after the driver. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** What the daemon hands a driver when it creates it. */
export interface DriverContext {
  /** A directory owned by this driver instance under the data root (created for it). */
  stateDir: string;
  /** A directory for runtime state (sockets, pid files) under the exec root (created for it). */
  runtimeDir: string;
  /** The daemon's data root and exec root, for drivers that follow Docker's layout. */
  dataRoot: string;
  execRoot: string;
  logger: Logger;
}

/** The result of a driver's self-check on this machine. */
export type ProbeResult = { supported: true } | { supported: false; reason: string };

export interface DriverDescriptor<K extends DriverKind = DriverKind, Options = Record<string, unknown>> {
  kind: K;
  /** Short name as written in config and shown by `docker info` (`vfs`, `overlay2`, `native`). */
  name: string;
  /** The driver-API major the driver was written for; must equal DRIVER_API_VERSION. */
  apiVersion: number;
  /** Validates the driver's options from the config file (e.g. `storage-opts`). */
  parseOptions?(raw: unknown): Options;
  /** Says whether this machine can run the driver, and why not. Never throws for "unsupported". */
  probe?(ctx: DriverContext): Promise<ProbeResult>;
  create(ctx: DriverContext, options: Options): Promise<DriverInstances[K]>;
}

export type GraphDriverDescriptor<O = Record<string, unknown>> = DriverDescriptor<'graph', O>;
export type ExecDriverDescriptor<O = Record<string, unknown>> = DriverDescriptor<'exec', O>;
export type NetworkDriverDescriptor<O = Record<string, unknown>> = DriverDescriptor<'network', O>;
