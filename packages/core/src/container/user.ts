/**
 * Resolves a container's `User` (`name`, `uid`, `name:group`, `uid:gid`) against the passwd and
 * group files of its own root filesystem, as runc does, plus the supplementary groups.
 */
import { readFile } from 'node:fs/promises';
import type { UserSpec } from '../drivers/exec-driver.js';
import { invalidArgument } from '../errors.js';
import { resolveInRoot } from './scoped-path.js';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_DB_BYTES = 4 * 1024 * 1024;

async function readDb(root: string, path: string): Promise<string[][]> {
  try {
    const file = await resolveInRoot(root, path);
    const text = await readFile(file, 'utf8');
    if (text.length > MAX_DB_BYTES) return [];
    return text
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

async function readPasswd(root: string): Promise<PasswdEntry[]> {
  return (await readDb(root, '/etc/passwd'))
    .filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' }))
    .filter((e) => Number.isInteger(e.uid) && Number.isInteger(e.gid));
}

async function readGroups(root: string): Promise<GroupEntry[]> {
  return (await readDb(root, '/etc/group'))
    .filter((f) => f.length >= 3)
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }))
    .filter((e) => Number.isInteger(e.gid));
}

const isNumeric = (s: string) => /^\d+$/.test(s);

export interface ResolvedUser extends UserSpec {
  /** HOME from passwd, or `/`; runc sets it when the environment has none. */
  home: string;
}

export async function resolveUser(
  root: string,
  user: string,
  groupAdd: string[] = [],
): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = user.split(':', 2);
  const passwd = await readPasswd(root);
  const groups = await readGroups(root);

  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  if (userPart === '') {
    const rootEntry = passwd.find((e) => e.uid === 0);
    name = rootEntry?.name ?? 'root';
    home = rootEntry?.home ?? '/root';
  } else {
    const entry = isNumeric(userPart)
      ? passwd.find((e) => e.uid === Number(userPart))
      : passwd.find((e) => e.name === userPart);
    if (entry) {
      ({ uid, gid, home, name } = entry);
    } else if (isNumeric(userPart)) {
      uid = Number(userPart);
    } else {
      throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((e) => e.name === groupPart);
      if (!g) throw invalidArgument(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  if (uid > 0xffffffff - 1 || gid > 0xffffffff - 1)
    throw invalidArgument(`uids and gids must be in range 0-4294967294`);

  const extra = new Set<number>();
  if (name !== undefined && (groupPart === undefined || groupPart === '')) {
    for (const g of groups) if (g.members.includes(name) && g.gid !== gid) extra.add(g.gid);
  }
  for (const g of groupAdd) {
    if (isNumeric(g)) extra.add(Number(g));
    else {
      const found = groups.find((e) => e.name === g);
      if (!found) throw invalidArgument(`Unable to find group ${g}: no matching entries in group file`);
      extra.add(found.gid);
    }
  }
  return { uid, gid, additionalGids: [...extra], home };
}
