/**
 * Turns the config's driver settings into driver instances. Core never imports a driver by name:
 * the daemon's host program (the CLI) passes `importModule`, which resolves package names from
 * where the drivers are installed. Short names map to our packages; anything else is taken as a
 * package name, so a third party can publish a driver.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument, unavailable } from '../errors.js';
import {
  DRIVER_API_VERSION,
  type DriverContext,
  type DriverDescriptor,
  type DriverInstances,
  type DriverKind,
  type Logger,
} from './descriptor.js';

/** Short names accepted in config files, per kind, and the package each stands for. */
export const BUILTIN_DRIVERS: Record<DriverKind, Record<string, string>> = {
  graph: {
    vfs: '@tsdocker/graphdriver-vfs',
    overlay: '@tsdocker/graphdriver-overlay',
    overlay2: '@tsdocker/graphdriver-overlay',
  },
  exec: {
    native: '@tsdocker/execdriver-native',
  },
  network: {
    bridge: '@tsdocker/networkdriver-bridge',
  },
};

export type ImportModule = (specifier: string) => Promise<unknown>;

export function packageForDriver(kind: DriverKind, setting: string): string {
  return BUILTIN_DRIVERS[kind][setting] ?? setting;
}

function isModuleNotFound(err: unknown, specifier: string): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  // Only "this package is missing", not "a file inside it is missing".
  return String((err as Error).message).includes(specifier);
}

/** Checks that a module's default export is a descriptor of the expected kind and API version. */
export function asDescriptor<K extends DriverKind>(
  mod: unknown,
  kind: K,
  specifier: string,
): DriverDescriptor<K> {
  const candidate = (mod as { default?: unknown } | null)?.default ?? mod;
  const d = candidate as Partial<DriverDescriptor<K>> | null;
  if (!d || typeof d !== 'object' || typeof d.create !== 'function' || typeof d.name !== 'string') {
    throw invalidArgument(
      `${specifier} is not a tsdocker driver: its default export has no name and create()`,
    );
  }
  if (d.kind !== kind) {
    throw invalidArgument(
      `${specifier} is a ${String(d.kind)} driver, but it is configured as the ${kind} driver`,
    );
  }
  if (d.apiVersion !== DRIVER_API_VERSION) {
    throw invalidArgument(
      `${specifier} was written for driver API v${String(d.apiVersion)}, but this @tsdocker/core speaks v${DRIVER_API_VERSION}; install a matching version of the driver`,
    );
  }
  return d as DriverDescriptor<K>;
}

export async function importDriver<K extends DriverKind>(
  kind: K,
  setting: string,
  importModule: ImportModule,
): Promise<DriverDescriptor<K>> {
  const specifier = packageForDriver(kind, setting);
  let mod: unknown;
  try {
    mod = await importModule(specifier);
  } catch (err) {
    if (isModuleNotFound(err, specifier)) {
      throw invalidArgument(
        `${kind} driver "${setting}" is not installed: install the package ${specifier} (e.g. npm install ${specifier})`,
        err,
      );
    }
    throw invalidArgument(
      `cannot load ${kind} driver "${setting}" from ${specifier}: ${(err as Error).message}`,
      err,
    );
  }
  return asDescriptor(mod, kind, specifier);
}

export interface DriverContextOptions {
  dataRoot: string;
  execRoot: string;
  logger: Logger;
}

/** Each driver instance gets `<data-root>/<name>` and `<exec-root>/<name>`, as dockerd lays out. */
export async function makeDriverContext(
  descriptor: DriverDescriptor,
  opts: DriverContextOptions,
): Promise<DriverContext> {
  const stateDir = join(opts.dataRoot, descriptor.name);
  const runtimeDir = join(opts.execRoot, descriptor.name);
  await mkdir(stateDir, { recursive: true, mode: 0o710 });
  await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
  return { stateDir, runtimeDir, dataRoot: opts.dataRoot, execRoot: opts.execRoot, logger: opts.logger };
}

/** Probes and creates a driver; an unsupported driver fails with the driver's own reason. */
export async function createDriver<K extends DriverKind>(
  descriptor: DriverDescriptor<K>,
  rawOptions: unknown,
  opts: DriverContextOptions,
): Promise<DriverInstances[K]> {
  const ctx = await makeDriverContext(descriptor, opts);
  if (descriptor.probe) {
    const probe = await descriptor.probe(ctx);
    if (!probe.supported) {
      throw unavailable(
        `${descriptor.kind} driver ${descriptor.name} is not supported on this machine: ${probe.reason}`,
      );
    }
  }
  const options = descriptor.parseOptions
    ? descriptor.parseOptions(rawOptions)
    : ((rawOptions ?? {}) as never);
  return descriptor.create(ctx, options);
}

/** Turns dockerd-style `key=value` option lists (`storage-opts`, `exec-opts`) into an object. */
export function parseKeyValueOptions(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw invalidArgument(`invalid ${what} "${item}": expected key=value`);
    out[item.slice(0, eq).trim().toLowerCase()] = item.slice(eq + 1).trim();
  }
  return out;
}
