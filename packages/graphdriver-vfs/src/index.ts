/**
 * @tsdocker/graphdriver-vfs: the default export is the driver's descriptor. Importing the package
 * has no side effects; the daemon calls `create` when the config selects `vfs`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DRIVER_API_VERSION,
  type DriverContext,
  type GraphDriverDescriptor,
  invalidArgument,
  type ProbeResult,
  withNaiveDiff,
} from '@tsdocker/core';
import { VfsDriver } from './vfs-driver.js';

export { VfsDriver } from './vfs-driver.js';

/** vfs has no options; the type is here so the config can say so. */
export type VfsOptions = Record<string, never>;

const run = promisify(execFile);

function parseOptions(raw: unknown): VfsOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument('vfs options must be an object');
  const keys = Object.keys(raw);
  if (keys.length > 0) throw invalidArgument(`vfs takes no options (got ${keys.join(', ')})`);
  return {};
}

/**
 * vfs needs Linux, root (layers keep their files' owners) and GNU cp (a trial copy in the
 * driver's own directory proves `cp -a --reflink=auto` works there).
 */
async function probe(ctx: DriverContext): Promise<ProbeResult> {
  if (process.platform !== 'linux')
    return { supported: false, reason: `vfs runs on Linux, not ${process.platform}` };
  const uid = process.getuid?.();
  if (uid !== 0) {
    return {
      supported: false,
      reason: `vfs keeps the owners of layer files, which needs root (running as uid ${uid})`,
    };
  }
  const trial = await mkdtemp(join(ctx.stateDir, 'probe-'));
  try {
    await writeFile(join(trial, 'file'), 'probe');
    await run('cp', ['-a', '--reflink=auto', '--', join(trial, 'file'), join(trial, 'copy')]);
    return { supported: true };
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    return { supported: false, reason: `vfs needs GNU cp with -a and --reflink=auto: ${detail}` };
  } finally {
    await rm(trial, { recursive: true, force: true });
  }
}

const vfs: GraphDriverDescriptor<VfsOptions> = {
  kind: 'graph',
  name: 'vfs',
  apiVersion: DRIVER_API_VERSION,
  parseOptions,
  probe,
  async create(ctx) {
    const driver = await VfsDriver.open(ctx.stateDir);
    ctx.logger.debug('vfs layers are full copies, in directories', { home: ctx.stateDir });
    return withNaiveDiff(driver);
  },
};

export default vfs;
