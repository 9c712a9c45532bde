/** The driver's self-check: what this machine lacks to run containers, in words. */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ProbeResult } from '@tsdocker/core';
import { dirExists, readCgroupFile } from './cgroups/cgroup-fs.js';
import { detectCgroupVersion } from './cgroups/detect.js';
import type { NativeExecDriverOptions } from './options.js';
import { PACKAGE_DIR } from './shim-binary.js';

const run = promisify(execFile);
const unsupported = (reason: string): ProbeResult => ({ supported: false, reason });

const REQUIRED_V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer', 'devices'];
const REQUIRED_V2_CONTROLLERS = ['memory', 'pids', 'cpu'];

export async function probeMachine(options: NativeExecDriverOptions): Promise<ProbeResult> {
  if (process.platform !== 'linux')
    return unsupported(`Linux containers need Linux (this is ${process.platform})`);
  const uid = process.getuid?.();
  if (uid !== 0) return unsupported(`creating namespaces and cgroups needs root (running as uid ${uid})`);

  try {
    await access(options.shimPath, constants.X_OK);
  } catch {
    return unsupported(
      `the shim binary ${options.shimPath} is missing: run the package's install script (node scripts/build-native.mjs in ${PACKAGE_DIR}; it needs a C compiler)`,
    );
  }
  try {
    const { stdout } = await run(options.shimPath, ['probe']);
    if (stdout.trim() !== 'ok') return unsupported(`namespaces are not available: ${stdout.trim()}`);
  } catch (err) {
    const out = (err as { stdout?: string }).stdout?.trim();
    return unsupported(`namespaces are not available: ${out || (err as Error).message}`);
  }

  let version: 1 | 2;
  try {
    version = await detectCgroupVersion(options.cgroupRoot);
  } catch (err) {
    return unsupported((err as Error).message);
  }
  if (version === 1) {
    for (const c of REQUIRED_V1_CONTROLLERS)
      if (!(await dirExists(join(options.cgroupRoot, c))))
        return unsupported(`the cgroup v1 ${c} controller is not mounted at ${join(options.cgroupRoot, c)}`);
  } else {
    const offered = ((await readCgroupFile(join(options.cgroupRoot, 'cgroup.controllers'))) ?? '').split(
      /\s+/,
    );
    for (const c of REQUIRED_V2_CONTROLLERS)
      if (!offered.includes(c))
        return unsupported(`the cgroup v2 ${c} controller is not available at ${options.cgroupRoot}`);
  }
  return { supported: true };
}
