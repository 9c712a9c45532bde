/**
 * A minimal container root filesystem for tests: Debian's static busybox with a symlink per
 * applet, and the few files a Docker image usually has (passwd, group, empty hosts/resolv.conf).
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

export const HOST_BUSYBOX = '/bin/busybox';

const PASSWD = `root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`;

const GROUP = `root:x:0:
tty:x:5:
www-data:x:33:
nogroup:x:65534:
`;

/** True when the ELF file has no program interpreter (PT_INTERP), i.e. is statically linked. */
async function isStaticElf(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await fh.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return false; // 64-bit LE ELF
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    await fh.close();
  }
}

/** Fills `dir` (which may exist) with a busybox root filesystem. */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  let isStatic: boolean;
  try {
    isStatic = await isStaticElf(HOST_BUSYBOX);
  } catch (err) {
    throw new Error(
      `makeBusyboxRootfs: ${HOST_BUSYBOX} is missing (${(err as Error).message}); install it with: apt-get install busybox-static`,
    );
  }
  if (!isStatic)
    throw new Error(
      `makeBusyboxRootfs: ${HOST_BUSYBOX} is dynamically linked; install the static one: apt-get install busybox-static`,
    );

  for (const d of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'root',
    'dev',
    'proc',
    'sys',
    'tmp',
    'var',
    'run',
  ])
    await mkdir(join(dir, d), { recursive: true });
  // `dir` may come from mkdtemp (0700): an image's "/" must let every user of it through.
  await chmod(dir, 0o755);
  await chmod(join(dir, 'tmp'), 0o1777);
  await chmod(join(dir, 'root'), 0o700);

  const busybox = join(dir, 'bin/busybox');
  await copyFile(HOST_BUSYBOX, busybox);
  await chmod(busybox, 0o755);
  const { stdout } = await promisify(execFile)(HOST_BUSYBOX, ['--list-full']);
  for (const applet of stdout.split('\n').map((l) => l.trim())) {
    if (!applet || applet === 'bin/busybox' || applet.includes('..')) continue;
    const link = join(dir, applet);
    await mkdir(dirname(link), { recursive: true });
    await symlink(relative(dirname(link), busybox), link).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }

  await writeFile(join(dir, 'etc/passwd'), PASSWD);
  await writeFile(join(dir, 'etc/group'), GROUP);
  for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf']) await writeFile(join(dir, f), '');
}
