/**
 * File operations on cgroupfs with errors that name the operation and the path, and the waits
 * that cgroup teardown needs (processes take a moment to die, rmdir may see EBUSY meanwhile).
 */
import { writeFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { internal, invalidArgument, type TsdockerError } from '@tsdocker/core';

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  // Node's message is "EINVAL: invalid argument, open '/path'": keep the part before the path.
  const msg = typeof e?.message === 'string' ? e.message.split(', ')[0] : String(err);
  return msg ?? String(err);
}

export function cgroupError(op: string, path: string, err: unknown): TsdockerError {
  const message = `cgroup: ${op} ${path}: ${describe(err)}`;
  return (err as NodeJS.ErrnoException)?.code === 'EINVAL'
    ? invalidArgument(message, err)
    : internal(message, err);
}

export async function writeCgroupFile(path: string, value: string | number): Promise<void> {
  try {
    await writeFile(path, String(value));
  } catch (err) {
    throw cgroupError(`write ${JSON.stringify(String(value))} to`, path, err);
  }
}

/**
 * writeCgroupFile without the thread pool, for a run of writes that must go in order and each
 * return at once: the device rules, about a dozen per container start (as promises each was an
 * open, a write and a close through the thread pool, ~4 ms of every start; synchronously they
 * take microseconds). Never for a write that can wait: a memory limit below the usage reclaims,
 * a pid written into cgroup.procs waits for RCU.
 */
export function writeCgroupFileNow(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    throw cgroupError(`write ${JSON.stringify(value)} to`, path, err);
  }
}

/** The file's content, or undefined when it does not exist. */
export async function readCgroupFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cgroupError('read', path, err);
  }
}

export async function readCgroupNumber(path: string): Promise<number | undefined> {
  const text = (await readCgroupFile(path))?.trim();
  if (text === undefined || text === '' || text === 'max') return undefined;
  const n = Number(text.split(/\s+/)[0]);
  return Number.isFinite(n) ? n : undefined;
}

/** `key value` lines (memory.stat, cpu.stat, memory.events) as a map. */
export async function readCgroupKeyed(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of ((await readCgroupFile(path)) ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) out.set(k, Number(v));
  }
  return out;
}

export async function readPids(procsFile: string): Promise<number[]> {
  const text = (await readCgroupFile(procsFile)) ?? '';
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

export async function makeCgroupDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw cgroupError('create', path, err);
  }
}

export async function dirExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH')
        throw internal(`kill ${pid}: ${describe(err)}`, err);
    }
  }
}

/** Polls until `done()` holds; the kernel offers no event for most cgroup transitions. */
export async function waitUntil(
  what: string,
  done: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (await done()) return;
    if (Date.now() > deadline) throw internal(`cgroup: timed out waiting for ${what}`);
    await sleep(delay);
  }
}

/** rmdir that retries while the kernel still reports the cgroup busy; absent is fine. */
export async function removeCgroupDir(path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(path);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw cgroupError('remove', path, err);
      await sleep(20);
    }
  }
}
