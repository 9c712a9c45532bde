import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModuleImporter, resolveModule, splitPackageSpecifier } from '../src/daemon/module-importer.js';

let root: string;
let packageDir: string;
let cwd: string;

async function writePackage(
  nodeModules: string,
  name: string,
  manifest: object,
  files: Record<string, string>,
): Promise<void> {
  const dir = join(nodeModules, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, type: 'module', ...manifest }));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsdocker-importer-'));
  // The CLI package: <root>/cli/dist is where the bundle lives, its dependencies in <root>/cli/node_modules.
  packageDir = join(root, 'cli', 'dist');
  cwd = join(root, 'project');
  await mkdir(packageDir, { recursive: true });
  await mkdir(cwd, { recursive: true });
  const cliModules = join(root, 'cli', 'node_modules');
  const projectModules = join(cwd, 'node_modules');

  // An import-only package (require.resolve would refuse it), installed in both places.
  await writePackage(
    cliModules,
    '@tsdocker/graphdriver-fake',
    {
      exports: {
        '.': { types: './dist/index.d.ts', import: './dist/index.js' },
        './extra': './dist/extra.js',
      },
    },
    {
      'dist/index.js': "export default { name: 'from-cli' };",
      'dist/extra.js': "export const extra = 'extra';",
    },
  );
  await writePackage(
    projectModules,
    '@tsdocker/graphdriver-fake',
    { exports: { import: './index.js' } },
    { 'index.js': "export default { name: 'from-project' };" },
  );
  // Only next to the user's project, old-style `main` without exports.
  await writePackage(
    projectModules,
    '@acme/execdriver-thing',
    { main: 'lib/main' },
    {
      'lib/main.js': "export default { name: 'third-party' };",
    },
  );
  // Installed but never built.
  await writePackage(projectModules, 'unbuilt-driver', { exports: './dist/index.js' }, {});
  await writeFile(join(cwd, 'local-driver.js'), "export default { name: 'local' };");
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('driver module importer', () => {
  it('splits scoped and unscoped specifiers', () => {
    expect(splitPackageSpecifier('@tsdocker/core')).toEqual({ name: '@tsdocker/core', subpath: '.' });
    expect(splitPackageSpecifier('@a/b/c/d')).toEqual({ name: '@a/b', subpath: './c/d' });
    expect(splitPackageSpecifier('pino/file')).toEqual({ name: 'pino', subpath: './file' });
  });

  it("resolves from the CLI package's own location first", async () => {
    const importModule = createModuleImporter({ packageDir, cwd });
    const mod = (await importModule('@tsdocker/graphdriver-fake')) as { default: { name: string } };
    expect(mod.default.name).toBe('from-cli');
    const extra = (await importModule('@tsdocker/graphdriver-fake/extra')) as { extra: string };
    expect(extra.extra).toBe('extra');
  });

  it("falls back to the current directory's node_modules (third-party drivers)", async () => {
    const importModule = createModuleImporter({ packageDir, cwd });
    const mod = (await importModule('@acme/execdriver-thing')) as { default: { name: string } };
    expect(mod.default.name).toBe('third-party');
    expect(resolveModule('@tsdocker/graphdriver-fake', { packageDir: join(root, 'elsewhere'), cwd })).toBe(
      join(cwd, 'node_modules', '@tsdocker', 'graphdriver-fake', 'index.js'),
    );
  });

  it('imports a relative path from the current directory', async () => {
    const mod = (await createModuleImporter({ packageDir, cwd })('./local-driver.js')) as {
      default: { name: string };
    };
    expect(mod.default.name).toBe('local');
  });

  it('reports a missing package as ERR_MODULE_NOT_FOUND naming it (core then says what to install)', async () => {
    const importModule = createModuleImporter({ packageDir, cwd });
    await expect(importModule('@tsdocker/graphdriver-not-installed')).rejects.toMatchObject({
      code: 'ERR_MODULE_NOT_FOUND',
      message: expect.stringContaining("'@tsdocker/graphdriver-not-installed'"),
    });
  });

  it('reports an installed package without its entry file differently', () => {
    expect(() => resolveModule('unbuilt-driver', { packageDir, cwd })).toThrow(
      expect.objectContaining({ code: 'ERR_TSDOCKER_MODULE_ENTRY_MISSING' }),
    );
  });

  it('follows real packages the way import does (exports "import" condition)', () => {
    const cliSrc = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const resolved = resolveModule('commander', { packageDir: cliSrc, cwd });
    expect(resolved).toMatch(/commander[/\\]esm\.mjs$/);
  });
});
