import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveUser } from '../../src/container/user.js';

let root = '';
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsd-user-'));
  await mkdir(join(root, 'etc'));
  await writeFile(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n',
  );
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nwww:x:33:\nstaff:x:50:www\naudio:x:63:\n');
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('resolveUser', () => {
  it('defaults to root with its home', async () => {
    expect(await resolveUser(root, '')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });
  it('resolves a name with its supplementary groups', async () => {
    expect(await resolveUser(root, 'www')).toEqual({
      uid: 33,
      gid: 33,
      additionalGids: [50],
      home: '/var/www',
    });
  });
  it('takes numeric uid:gid even without passwd entries', async () => {
    expect(await resolveUser(root, '1000:1000')).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [] });
  });
  it('resolves a group name and --group-add', async () => {
    expect(await resolveUser(root, '33:staff', ['audio', '7'])).toMatchObject({
      uid: 33,
      gid: 50,
      additionalGids: [63, 7],
    });
  });
  it("refuses an unknown name with runc's message", async () => {
    await expect(resolveUser(root, 'nosuch')).rejects.toThrow(
      'unable to find user nosuch: no matching entries in passwd file',
    );
  });
  it("never reads the host's passwd through a symlink", async () => {
    await rm(join(root, 'etc/passwd'));
    await symlink('/etc/passwd', join(root, 'etc/passwd'));
    // The absolute link is resolved inside the root, where it points at itself: no entries.
    await expect(resolveUser(root, 'www')).rejects.toThrow('unable to find user www');
  });
});
