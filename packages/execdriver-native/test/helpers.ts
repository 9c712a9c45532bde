/** A throwaway DriverContext under a temp dir, for this package's tests. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriverContext, Logger } from '@tsdocker/core';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export async function tempDriverContext(): Promise<{ ctx: DriverContext; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'tsdocker-native-'));
  const ctx: DriverContext = {
    stateDir: join(root, 'data', 'native'),
    runtimeDir: join(root, 'exec', 'native'),
    dataRoot: join(root, 'data'),
    execRoot: join(root, 'exec'),
    logger: quiet,
  };
  await mkdir(ctx.stateDir, { recursive: true });
  await mkdir(ctx.runtimeDir, { recursive: true });
  return { ctx, remove: () => rm(root, { recursive: true, force: true }) };
}
