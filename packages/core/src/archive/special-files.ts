/**
 * What Node's fs cannot do for an archive: make FIFOs and device nodes (no mknod binding) and set
 * extended attributes (no xattr binding). Both go through the usual command-line tools, coreutils'
 * `mknod` and the attr package's `setfattr`, invoked with execFile (no shell).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { internal, notSupported } from '../errors.js';

const run = promisify(execFile);

export type SpecialFileType = 'fifo' | 'character-device' | 'block-device';

/** Splits a Linux dev_t (stat's rdev) into major and minor, as glibc's major()/minor() do. */
export function splitDeviceNumber(rdev: number | bigint): { major: number; minor: number } {
  const dev = BigInt(rdev);
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

async function runTool(tool: string, args: string[], what: string, missingHint: string): Promise<void> {
  try {
    await run(tool, args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw notSupported(`${what}: needs the ${tool} command (${missingHint})`, err);
    const detail = e.stderr?.trim() || e.message;
    throw internal(`${what}: ${tool} failed: ${detail}`, err);
  }
}

/**
 * Creates a FIFO or device node at `path`, which must not exist. Its mode is set by the caller
 * afterwards (mknod's follows the umask).
 */
export async function makeSpecialFile(
  path: string,
  type: SpecialFileType,
  device: { major: number; minor: number },
  what: string,
): Promise<void> {
  const args =
    type === 'fifo'
      ? [path, 'p']
      : [path, type === 'character-device' ? 'c' : 'b', String(device.major), String(device.minor)];
  await runTool('mknod', args, what, 'coreutils');
}

/** Sets extended attributes on `path` itself (never a symlink's target). */
export async function setExtendedAttributes(
  path: string,
  attrs: ReadonlyArray<readonly [name: string, value: Buffer]>,
  what: string,
): Promise<void> {
  for (const [name, value] of attrs) {
    // `0s` + base64 passes any bytes through unchanged.
    const args = ['-h', '-n', name, '-v', `0s${value.toString('base64')}`, '--', path];
    await runTool('setfattr', args, `${what}: extended attribute ${name}`, 'install the "attr" package');
  }
}
