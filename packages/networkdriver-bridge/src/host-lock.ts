/**
 * A lock shared by every tsdocker daemon on the host (tests run several), for the few firewall
 * changes that touch shared state: creating and pruning the built-in chains. A directory made
 * with mkdir(2) is the lock (atomic, needs nothing but Node); it names its holder's pid, so a
 * lock left by a crashed daemon is taken over.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withHostLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(path, { mode: 0o700 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(join(path, 'pid'), 'utf8').catch(() => ''));
      if (holder && holder !== process.pid && !alive(holder)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (attempt > 600)
        throw new Error(`timed out waiting for the host lock ${path} (held by pid ${holder || '?'})`);
      await delay(50);
    }
  }
  try {
    await writeFile(join(path, 'pid'), String(process.pid));
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
