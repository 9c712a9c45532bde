/**
 * Hostile archives: each must be refused with an invalid-argument error naming the entry, and
 * nothing outside the extraction root may change (a sentinel directory next to it is compared
 * byte for byte, times included, before and after).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsdockerError } from '@tsdocker/core';
import { describe, expect, it } from 'vitest';
import { extractions, snapshot, type TarEntry, tarStreamOf, useTempDirs } from './helpers.js';

interface CraftedCase {
  name: string;
  entries: TarEntry[];
  /** The error message must match this (it names the offending entry). */
  error: RegExp;
}

const corpus: CraftedCase[] = [
  {
    name: 'a ../ path',
    entries: [{ name: '../sentinel/evil', body: 'x' }],
    error: /layer entry "\.\.\/sentinel\/evil": "\.\." in path/,
  },
  {
    name: 'a ../ in the middle of a path',
    entries: [{ name: 'a/../../sentinel/evil', body: 'x' }],
    error: /layer entry "a\/\.\.\/\.\.\/sentinel\/evil"/,
  },
  {
    name: 'an absolute path',
    entries: [{ name: '/etc/evil', body: 'x' }],
    error: /layer entry "\/etc\/evil": absolute path/,
  },
  {
    name: 'a symlink to / followed by a write through it',
    entries: [
      { name: 'a', type: 'symlink', linkname: '/' },
      { name: 'a/etc/passwd', body: 'root::0:0::/:/bin/sh\n' },
    ],
    error: /layer entry "a\/etc\/passwd": parent "a" is a symlink/,
  },
  {
    name: 'a symlink to .. followed by writes through it',
    entries: [
      { name: 'up', type: 'symlink', linkname: '..' },
      { name: 'up/sentinel/evil', body: 'x' },
    ],
    error: /layer entry "up\/sentinel\/evil": parent "up" is a symlink/,
  },
  {
    name: 'a directory created through a symlinked parent',
    entries: [
      { name: 'up', type: 'symlink', linkname: '../sentinel' },
      { name: 'up/newdir/', type: 'directory', mode: 0o777 },
    ],
    error: /layer entry "up\/newdir\/": parent "up" is a symlink/,
  },
  {
    name: 'a hardlink to an absolute path',
    entries: [{ name: 'shadow', type: 'link', linkname: '/etc/shadow' }],
    error: /layer entry "shadow": hardlink target "\/etc\/shadow": absolute path/,
  },
  {
    name: 'a hardlink to ../outside',
    entries: [{ name: 'stolen', type: 'link', linkname: '../sentinel/file' }],
    error: /layer entry "stolen": hardlink target "\.\.\/sentinel\/file"/,
  },
  {
    name: 'a hardlink through a symlinked parent',
    entries: [
      { name: 'up', type: 'symlink', linkname: '../sentinel' },
      { name: 'stolen', type: 'link', linkname: 'up/file' },
    ],
    error: /layer entry "stolen": hardlink target "up\/file": parent "up" is a symlink/,
  },
  {
    name: 'a whiteout of ../x',
    entries: [{ name: '.wh.../x' }],
    error: /layer entry "\.wh\.\.\.\/x": whiteout name "\.wh\.\.\." used as a directory/,
  },
  {
    name: 'a whiteout of ..',
    entries: [{ name: 'dir/.wh...' }],
    error: /layer entry "dir\/\.wh\.\.\.": invalid whiteout/,
  },
  {
    name: 'a whiteout through a symlinked parent',
    entries: [{ name: 'up', type: 'symlink', linkname: '../sentinel' }, { name: 'up/.wh.file' }],
    error: /layer entry "up\/\.wh\.file": parent "up" is a symlink/,
  },
  {
    name: 'an opaque marker through a symlinked parent',
    entries: [{ name: 'up', type: 'symlink', linkname: '../sentinel' }, { name: 'up/.wh..wh..opq' }],
    error: /layer entry "up\/\.wh\.\.wh\.\.opq": parent "up" is a symlink/,
  },
  {
    name: 'a directory replaced by a symlink to outside, then written under',
    entries: [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/ok', body: 'fine' },
      { name: 'etc', type: 'symlink', linkname: '../sentinel' },
      { name: 'etc/evil', body: 'x' },
    ],
    error: /layer entry "etc\/evil": parent "etc" is a symlink/,
  },
  {
    name: 'a directory replaced by a symlink, with a deferred directory time below it',
    entries: [
      { name: 'd/', type: 'directory' },
      { name: 'd/sentinel/', type: 'directory', mtime: new Date(0) },
      { name: 'd', type: 'symlink', linkname: '..' },
      { name: 'd/sentinel/evil', body: 'x' },
    ],
    error: /layer entry "d\/sentinel\/evil": parent "d" is a symlink/,
  },
  {
    name: 'a NUL byte in a name (via PAX)',
    entries: [{ name: 'ok', body: 'x', pax: { path: 'a\u0000b' } }],
    error: /NUL byte/,
  },
];

describe.each(extractions)('extractLayer on crafted archives ($name)', ({ extract }) => {
  const tempDir = useTempDirs();

  async function setup() {
    const base = await tempDir();
    const root = join(base, 'root');
    const sentinel = join(base, 'sentinel');
    await mkdir(root);
    await mkdir(sentinel);
    await writeFile(join(sentinel, 'file'), 'sentinel content');
    await mkdir(join(sentinel, 'dir'));
    return { base, root, sentinel };
  }

  for (const crafted of corpus) {
    it(`refuses ${crafted.name}, writing nothing outside the root`, async () => {
      const { base, root, sentinel } = await setup();
      const before = await snapshot(sentinel, { times: 'all' });
      const err = await extract(root, await tarStreamOf(crafted.entries)).catch((e: unknown) => e);
      expect(TsdockerError.is(err, 'invalid-argument'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(crafted.error);
      expect(await snapshot(sentinel, { times: 'all' })).toEqual(before);
      expect((await readdir(base)).sort()).toEqual(['root', 'sentinel']);
    });
  }

  it('keeps the deferred times of a replaced directory away from what the symlink points to', async () => {
    const { root, sentinel } = await setup();
    const before = await snapshot(sentinel, { times: 'all' });
    await extract(
      root,
      await tarStreamOf([
        { name: 'd/', type: 'directory' },
        { name: 'd/dir/', type: 'directory', mtime: new Date(0) },
        { name: 'd', type: 'symlink', linkname: '../sentinel' },
      ]),
    );
    expect(await snapshot(sentinel, { times: 'all' })).toEqual(before);
  });
});
