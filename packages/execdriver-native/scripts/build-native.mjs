#!/usr/bin/env node
// Compiles the shim (native/*.c) into build/tsd-shim at install time. It is a standalone
// executable, not a Node addon: no node-gyp, no Node headers, just a C compiler.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(pkgDir, 'native');
const buildDir = join(pkgDir, 'build');
const output = join(buildDir, 'tsd-shim');

if (process.platform !== 'linux') {
  // The package installs everywhere (so a workspace or lockfile works on a laptop); the driver's
  // probe reports the missing shim on machines that cannot run it.
  console.warn(`@tsdocker/execdriver-native: skipping the shim build on ${process.platform} (Linux only)`);
  process.exit(0);
}

const cc = process.env.CC || 'cc';
const sources = readdirSync(nativeDir)
  .filter((f) => f.endsWith('.c'))
  .sort()
  .map((f) => join(nativeDir, f));
const flags = ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-D_FORTIFY_SOURCE=2'];

mkdirSync(buildDir, { recursive: true });
const tmp = `${output}.${process.pid}.tmp`;
// Static where the C library allows it (Debian's libc6-dev ships libc.a): one shim runs per
// container for its whole life, and a static one skips the dynamic loader's relocations and
// libc's private pages, ~40 KiB of memory per container. Without a static libc (glibc-static
// is a separate package on some distributions), a dynamic shim works the same.
let result = spawnSync(cc, [...flags, '-static', '-o', tmp, ...sources], { stdio: 'pipe' });
if (!result.error && result.status !== 0) {
  console.warn(
    '@tsdocker/execdriver-native: static linking failed (no static C library?); building a dynamically linked shim',
  );
  result = spawnSync(cc, [...flags, '-o', tmp, ...sources], { stdio: 'inherit' });
}
if (result.error?.code === 'ENOENT') {
  // A published tarball may carry a shim built from these very sources: use it if it runs here.
  if (spawnSync(output, ['version']).status === 0) {
    console.warn(
      `@tsdocker/execdriver-native: no C compiler found (tried "${cc}"); keeping the shipped ${output}`,
    );
    process.exit(0);
  }
  console.error(
    `@tsdocker/execdriver-native: no C compiler found (tried "${cc}").\n` +
      'Install one (Debian/Ubuntu: apt-get install gcc; Alpine: apk add build-base) or set CC,\n' +
      `then run "node scripts/build-native.mjs" in ${pkgDir}.`,
  );
  process.exit(1);
}
if (result.error || result.status !== 0) {
  rmSync(tmp, { force: true });
  console.error(`@tsdocker/execdriver-native: compiling the shim with "${cc}" failed`);
  process.exit(result.status || 1);
}
renameSync(tmp, output);
console.log(`@tsdocker/execdriver-native: built ${output}`);
