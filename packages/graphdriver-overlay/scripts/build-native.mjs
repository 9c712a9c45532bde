#!/usr/bin/env node
// Compiles the mount helper (native/tsd-mount.c) into build/tsd-mount at install time: a
// standalone executable, not a Node addon. It is optional: without it (no C compiler, not
// Linux) the driver runs util-linux mount/umount per operation, only slower.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(pkgDir, 'native', 'tsd-mount.c');
const output = join(pkgDir, 'build', 'tsd-mount');
const name = '@tsdocker/graphdriver-overlay';

if (process.platform !== 'linux') {
  console.warn(`${name}: skipping the mount helper build on ${process.platform} (Linux only)`);
  process.exit(0);
}

const cc = process.env.CC || 'cc';
const flags = ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-D_FORTIFY_SOURCE=2'];
mkdirSync(dirname(output), { recursive: true });
const tmp = `${output}.${process.pid}.tmp`;
const result = spawnSync(cc, [...flags, '-o', tmp, source], { stdio: 'inherit' });
if (result.error || result.status !== 0) {
  rmSync(tmp, { force: true });
  const why = result.error?.code === 'ENOENT' ? `no C compiler found (tried "${cc}")` : `"${cc}" failed`;
  console.warn(`${name}: ${why}; overlay mounts will use util-linux mount/umount (slower)`);
  process.exit(0);
}
renameSync(tmp, output);
console.log(`${name}: built ${output}`);
