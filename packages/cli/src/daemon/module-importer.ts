/**
 * How the daemon loads driver packages. Core never imports drivers itself (it does not depend on
 * them); it asks the host program for `importModule(specifier)`. We resolve a package name first
 * from this CLI package's own location (where the default drivers are installed as its
 * dependencies), then from the current directory (a third-party driver installed next to the
 * user's project), and import the file found.
 *
 * Resolution follows Node's ESM rules for packages: `exports` with the conditions Node uses for
 * `import` (`node`, `import`, `module-sync`, `default`), else `main`/`index.js`. `createRequire`
 * supplies the node_modules search path; `require.resolve` itself cannot be used because it
 * applies the `require` condition and rejects import-only packages like ours.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type ImportModule = (specifier: string) => Promise<unknown>;

const IMPORT_CONDITIONS = new Set(['node', 'import', 'module-sync', 'default']);

interface PackageJson {
  exports?: unknown;
  main?: unknown;
}

function codedError(message: string, code: string): NodeJS.ErrnoException {
  const err = new Error(message) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `@scope/name/sub/path` → `@scope/name` and `./sub/path`. */
export function splitPackageSpecifier(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split('/');
  const nameParts = specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1);
  const rest = parts.slice(nameParts.length);
  return { name: nameParts.join('/'), subpath: rest.length > 0 ? `./${rest.join('/')}` : '.' };
}

function resolveTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const candidate of target) {
      const resolved = resolveTarget(candidate);
      if (resolved !== undefined) return resolved;
    }
    return undefined;
  }
  if (target && typeof target === 'object') {
    for (const [condition, value] of Object.entries(target)) {
      if (!IMPORT_CONDITIONS.has(condition)) continue;
      const resolved = resolveTarget(value);
      if (resolved !== undefined) return resolved;
    }
  }
  return undefined;
}

function resolveExports(exportsField: unknown, subpath: string): string | undefined {
  const isSubpathMap =
    exportsField !== null &&
    typeof exportsField === 'object' &&
    !Array.isArray(exportsField) &&
    Object.keys(exportsField).some((k) => k.startsWith('.'));
  const map: Record<string, unknown> = isSubpathMap
    ? (exportsField as Record<string, unknown>)
    : { '.': exportsField };
  if (subpath in map) return resolveTarget(map[subpath]);
  // Single-`*` subpath patterns (`"./drivers/*": "./dist/drivers/*.js"`).
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star === -1) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      const match = subpath.slice(prefix.length, subpath.length - suffix.length);
      return resolveTarget(value)?.replaceAll('*', match);
    }
  }
  return undefined;
}

function resolveInPackage(packageDir: string, pkg: PackageJson, subpath: string, specifier: string): string {
  let relative: string | undefined;
  if (pkg.exports !== undefined) {
    relative = resolveExports(pkg.exports, subpath);
    if (relative === undefined) {
      throw codedError(
        `Package subpath '${subpath}' is not defined by "exports" in ${join(packageDir, 'package.json')}`,
        'ERR_PACKAGE_PATH_NOT_EXPORTED',
      );
    }
  } else if (subpath === '.') {
    const main = typeof pkg.main === 'string' ? pkg.main : undefined;
    const candidates = main ? [main, `${main}.js`, join(main, 'index.js'), 'index.js'] : ['index.js'];
    relative = candidates.find((c) => isFile(join(packageDir, c))) ?? candidates[0];
  } else {
    relative = subpath;
  }
  const file = resolve(packageDir, relative as string);
  if (!isFile(file)) {
    // A different code from "not found", so the daemon does not claim the package is missing.
    throw codedError(
      `${specifier} is installed at ${packageDir}, but its entry point ${file} does not exist (is the package built?)`,
      'ERR_TSDOCKER_MODULE_ENTRY_MISSING',
    );
  }
  return file;
}

/** Resolves a bare package specifier as an ESM import from a file in `fromDir` would. */
export function resolvePackageFrom(specifier: string, fromDir: string): string | undefined {
  const { name, subpath } = splitPackageSpecifier(specifier);
  const require = createRequire(join(fromDir, 'noop.js'));
  for (const nodeModules of require.resolve.paths(name) ?? []) {
    const packageDir = join(nodeModules, name);
    const manifest = join(packageDir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as PackageJson;
    return resolveInPackage(packageDir, pkg, subpath, specifier);
  }
  return undefined;
}

export interface ModuleImporterOptions {
  /** Searched first: the directory of this CLI package. */
  packageDir: string;
  /** Searched second, and the base for relative paths: the user's current directory. */
  cwd: string;
}

/** Finds the file `specifier` names; throws ERR_MODULE_NOT_FOUND naming the specifier. */
export function resolveModule(specifier: string, options: ModuleImporterOptions): string {
  if (specifier.startsWith('file:')) return fileURLToPath(specifier);
  if (isAbsolute(specifier) || specifier.startsWith('./') || specifier.startsWith('../')) {
    const file = resolve(options.cwd, specifier);
    if (!isFile(file))
      throw codedError(`Cannot find module '${file}' (from '${specifier}')`, 'ERR_MODULE_NOT_FOUND');
    return file;
  }
  for (const dir of [options.packageDir, options.cwd]) {
    const found = resolvePackageFrom(specifier, dir);
    if (found) return found;
  }
  throw codedError(
    `Cannot find package '${specifier}' (looked in node_modules from ${options.packageDir} and from ${options.cwd})`,
    'ERR_MODULE_NOT_FOUND',
  );
}

export function createModuleImporter(options: ModuleImporterOptions): ImportModule {
  return async (specifier) => import(pathToFileURL(resolveModule(specifier, options)).href);
}

/** The importer the daemon uses: from this package's own directory, then from `process.cwd()`. */
export function defaultModuleImporter(): ImportModule {
  return createModuleImporter({ packageDir: dirname(fileURLToPath(import.meta.url)), cwd: process.cwd() });
}
