/**
 * Reading overlayfs's opaque marks (`trusted.overlay.opaque=y`). Node has no xattr binding, so
 * this runs the attr package's `getfattr` once per tree (`-R`), not once per directory: it lists
 * only the files that carry the attribute. Writing goes through core's `setExtendedAttributes`.
 */
import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import { promisify } from 'node:util';
import { internal, notSupported, OVERLAY_OPAQUE_XATTR } from '@tsdocker/core';

const run = promisify(execFile);
const FILE_LINE = '# file: ';
const MAX_OUTPUT = 256 * 1024 * 1024;
const OCTAL = /^[0-7]{3}$/;

/** getfattr quotes names: `\ooo` for bytes it will not print as is, `\\` for a backslash. */
function unquote(text: Buffer): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === 0x5c && text[i + 1] === 0x5c) {
      bytes.push(0x5c);
      i++;
    } else if (c === 0x5c && OCTAL.test(text.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(Number.parseInt(text.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

async function getfattr(args: string[]): Promise<Buffer> {
  try {
    const { stdout } = await run('getfattr', args, {
      encoding: 'buffer',
      maxBuffer: MAX_OUTPUT,
      env: { ...process.env, LC_ALL: 'C' },
    });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') {
      throw notSupported('overlay2 needs the getfattr command (install the "attr" package)', err);
    }
    throw internal(`getfattr failed: ${e.stderr?.toString().trim() || e.message}`, err);
  }
}

/**
 * The directories under `root` (a canonical path) marked opaque, as paths relative to it (`''`
 * for `root` itself, `a/b` below it). Symlinks are never followed.
 */
export async function readOpaqueDirs(root: string): Promise<Set<string>> {
  const out = await getfattr([
    '-R',
    '-P',
    '-h',
    '--absolute-names',
    '-d',
    '-e',
    'text',
    '-m',
    `^${OVERLAY_OPAQUE_XATTR.replaceAll('.', '\\.')}$`,
    '--',
    root,
  ]);
  const opaque = new Set<string>();
  let current: string | null = null;
  for (const line of splitLines(out)) {
    if (line.subarray(0, FILE_LINE.length).toString('latin1') === FILE_LINE) {
      current = unquote(line.subarray(FILE_LINE.length));
    } else if (current !== null && line.toString('latin1') === `${OVERLAY_OPAQUE_XATTR}="y"`) {
      const rel = relative(root, current);
      if (!rel.startsWith('..')) opaque.add(rel);
    }
  }
  return opaque;
}

/** One attribute of `path` itself (not a symlink's target) as text, or null when it has none. */
export async function readXattr(path: string, name: string): Promise<string | null> {
  const out = await getfattr(['-h', '--absolute-names', '-d', '-e', 'text', '-m', '-', '--', path]);
  const prefix = `${name}="`;
  for (const line of splitLines(out)) {
    const text = line.toString('latin1');
    if (text.startsWith(prefix) && text.endsWith('"')) return text.slice(prefix.length, -1);
  }
  return null;
}

function splitLines(buf: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, start)) {
    lines.push(buf.subarray(start, i));
    start = i + 1;
  }
  if (start < buf.length) lines.push(buf.subarray(start));
  return lines;
}
