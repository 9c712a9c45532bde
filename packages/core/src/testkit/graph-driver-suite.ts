/**
 * The graph driver conformance kit, after containerd's snapshotter testsuite and moby's graphtest:
 * behaviour a layer store must have, checked through the GraphDriver interface only.
 *
 *   graphDriverSuite('vfs', async (root) => {
 *     const driver = await vfs.create(await graphDriverContext(root, vfs), {});
 *     return { driver, dispose: () => driver.cleanup() };
 *   });
 *
 * Each case gets a fresh driver in a fresh temp root, removed in afterEach even when the case
 * failed; a failing case's error carries a listing of that root. A driver without its own diff
 * operations is tested wrapped by `withNaiveDiff`, as the daemon uses it. Owners, setuid bits and
 * device nodes need root: those cases are skipped otherwise.
 */
import { createHash } from 'node:crypto';
import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Header } from 'tar-stream';
import { pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSpecialFile } from '../archive/special-files.js';
import type { DriverContext, DriverDescriptor } from '../drivers/descriptor.js';
import type { Change, DiffGraphDriver, GraphDriver } from '../drivers/graph-driver.js';
import { makeDriverContext } from '../drivers/loader.js';
import { withNaiveDiff } from '../drivers/naive-diff.js';
import { TsdockerError } from '../errors.js';

export interface GraphDriverHarness {
  driver: GraphDriver;
  /** Releases the driver (cleanup, unmounts). The kit removes the temp root itself afterwards. */
  dispose(): Promise<void>;
}

export interface GraphDriverSuiteOptions {
  /**
   * What the driver does on a `put` without a matching `get`: `rejects` (default; the refcount
   * is checked) or `ignored` (accepted as a no-op). Either way the layer stays usable.
   */
  putWithoutGet?: 'rejects' | 'ignored';
  /** Parent directory of the per-case temp roots (default: the OS temp dir). */
  tmpDir?: string;
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A DriverContext under `root`, laid out as the daemon lays it out (`<root>/data/<name>`, …). */

/**
 * What applyDiff reports, as moby's drivers do: a naive diff counts the regular-file bytes of
 * the tar; a native diff (overlay2) measures the layer directory (directory.Size), where a
 * symlink weighs its target's length. Both are right; nothing else is.
 */
function expectLayerSize(bytes: number, fileBytes: number, symlinkBytes: number): void {
  expect([fileBytes, fileBytes + symlinkBytes]).toContain(bytes);
}

export function graphDriverContext(root: string, descriptor: DriverDescriptor): Promise<DriverContext> {
  return makeDriverContext(descriptor, {
    dataRoot: join(root, 'data'),
    execRoot: join(root, 'exec'),
    logger: silentLogger,
  });
}

const isRoot = process.getuid?.() === 0;
const FIXED_TIME = new Date(1_500_000_000_000);
const TREE_DUMP_LINES = 200;

interface CaseContext {
  root: string;
  driver: DiffGraphDriver;
}

export function graphDriverSuite(
  name: string,
  factory: (root: string) => Promise<GraphDriverHarness>,
  options: GraphDriverSuiteOptions = {},
): void {
  describe(`graph driver conformance: ${name}`, () => {
    let current: (CaseContext & { harness: GraphDriverHarness }) | undefined;

    beforeEach(async () => {
      const root = await mkdtemp(join(options.tmpDir ?? tmpdir(), `tsdocker-graph-${name}-`));
      try {
        const harness = await factory(root);
        current = { root, harness, driver: withNaiveDiff(harness.driver) };
      } catch (err) {
        await rm(root, { recursive: true, force: true });
        throw err;
      }
    });

    afterEach(async () => {
      const ctx = current;
      current = undefined;
      if (!ctx) return;
      try {
        await ctx.harness.dispose();
      } finally {
        await rm(ctx.root, { recursive: true, force: true });
      }
    });

    /** A case that, when it fails, shows what the driver's root held. */
    function driverCase(
      title: string,
      body: (ctx: CaseContext) => Promise<void>,
      opts: { needsRoot?: boolean; timeout?: number } = {},
    ): void {
      const test = opts.needsRoot && !isRoot ? it.skip : it;
      test(
        title,
        async () => {
          const ctx = current!;
          try {
            await body(ctx);
          } catch (err) {
            if (err instanceof Error) err.message += `\n\n${await describeTree(ctx.root)}`;
            throw err;
          }
        },
        opts.timeout,
      );
    }

    driverCase('an empty base layer is an empty directory', async ({ driver }) => {
      expect(await driver.exists('base')).toBe(false);
      await driver.create('base', null);
      await mounted(driver, 'base', async (dir) => {
        expect((await stat(dir)).isDirectory()).toBe(true);
        expect(await readdir(dir)).toEqual([]);
      });
    });

    driverCase('a layer exists from create until remove', async ({ driver }) => {
      await driver.create('layer', null);
      expect(await driver.exists('layer')).toBe(true);
      await driver.remove('layer');
      expect(await driver.exists('layer')).toBe(false);
      await expectKind(driver.get('layer'), 'not-found');
    });

    driverCase('removing a missing layer is fine', async ({ driver }) => {
      await driver.remove('never-created');
      await driver.create('once', null);
      await driver.remove('once');
      await driver.remove('once');
    });

    driverCase('creating a layer twice, or on a missing parent, fails', async ({ driver }) => {
      await driver.create('layer', null);
      await expectRejectsTsdocker(driver.create('layer', null));
      await expectRejectsTsdocker(driver.create('orphan', 'no-such-parent'));
      expect(await driver.exists('orphan')).toBe(false);
    });

    driverCase(
      "a child sees its parent's files, and its own changes stay in the child",
      async ({ driver }) => {
        await driver.create('parent', null);
        await mounted(driver, 'parent', async (dir) => {
          await mkdir(join(dir, 'etc'));
          await writeFile(join(dir, 'etc/hostname'), 'parent\n');
          await writeFile(join(dir, 'doomed'), 'x');
        });
        await driver.createReadWrite('child', 'parent');
        await driver.createReadWrite('sibling', 'parent');
        await mounted(driver, 'child', async (dir) => {
          expect(await readFile(join(dir, 'etc/hostname'), 'utf8')).toBe('parent\n');
          await writeFile(join(dir, 'etc/hostname'), 'child\n');
          await writeFile(join(dir, 'new'), 'new');
          await rm(join(dir, 'doomed'));
        });
        for (const untouched of ['parent', 'sibling']) {
          await mounted(driver, untouched, async (dir) => {
            expect(await readFile(join(dir, 'etc/hostname'), 'utf8')).toBe('parent\n');
            expect((await readdir(dir)).sort()).toEqual(['doomed', 'etc']);
          });
        }
        await mounted(driver, 'child', async (dir) => {
          expect(await readFile(join(dir, 'etc/hostname'), 'utf8')).toBe('child\n');
          expect((await readdir(dir)).sort()).toEqual(['etc', 'new']);
        });
      },
    );

    driverCase(
      'modes, owners, setuid bits, symlinks, hardlinks, FIFOs and device nodes survive a snapshot',
      async ({ driver }) => {
        await driver.create('base', null);
        await mounted(driver, 'base', writeSpecialTree);
        await driver.create('child', 'base');
        await mounted(driver, 'child', async (dir) => {
          const owned = await lstat(join(dir, 'owned'));
          expect([owned.uid, owned.gid, owned.mode & 0o7777]).toEqual([1000, 1000, 0o640]);
          expect(owned.mtimeMs).toBe(FIXED_TIME.getTime());
          expect((await lstat(join(dir, 'setuid'))).mode & 0o7777).toBe(0o4755);
          expect((await lstat(join(dir, 'setgid-dir'))).mode & 0o7777).toBe(0o2775);
          expect((await lstat(join(dir, 'sticky'))).mode & 0o7777).toBe(0o1777);
          const link_ = await lstat(join(dir, 'link'));
          expect([link_.isSymbolicLink(), link_.uid, link_.gid]).toEqual([true, 1000, 1000]);
          expect(await readlink(join(dir, 'link'))).toBe('owned');
          expect(await readlink(join(dir, 'abs-link'))).toBe('/etc/passwd');
          const [h1, h2] = await Promise.all([lstat(join(dir, 'hard1')), lstat(join(dir, 'hard2'))]);
          expect(h2.ino).toBe(h1.ino);
          expect(h1.nlink).toBe(2);
          expect((await lstat(join(dir, 'fifo'))).isFIFO()).toBe(true);
          const dev = await lstat(join(dir, 'null'));
          expect([dev.isCharacterDevice(), dev.rdev, dev.mode & 0o7777]).toEqual([true, 0x103, 0o666]);
        });
      },
      { needsRoot: true },
    );

    driverCase(
      'a 128-layer chain reads correctly',
      async ({ driver }) => {
        const depth = 128;
        for (let i = 1; i <= depth; i++) {
          await driver.create(`layer-${i}`, i === 1 ? null : `layer-${i - 1}`);
          await mounted(driver, `layer-${i}`, async (dir) => {
            await writeFile(join(dir, `f${i}`), `layer ${i}`);
            if (i === 100) await writeFile(join(dir, 'f64'), 'overwritten in layer 100');
          });
        }
        await mounted(driver, `layer-${depth}`, async (dir) => {
          expect((await readdir(dir)).length).toBe(depth);
          for (let i = 1; i <= depth; i++) {
            const expected = i === 64 ? 'overwritten in layer 100' : `layer ${i}`;
            expect(await readFile(join(dir, `f${i}`), 'utf8')).toBe(expected);
          }
        });
        await mounted(driver, 'layer-99', async (dir) => {
          expect(await readFile(join(dir, 'f64'), 'utf8')).toBe('layer 64');
          expect((await readdir(dir)).length).toBe(99);
        });
      },
      { timeout: 300_000 },
    );

    driverCase('diff then applyDiff reproduces a layer in a fresh one', async ({ driver }) => {
      await driver.create('base', null);
      await mounted(driver, 'base', async (dir) => {
        await mkdir(join(dir, 'etc/conf.d'), { recursive: true });
        await mkdir(join(dir, 'var/cache'), { recursive: true });
        await writeFile(join(dir, 'etc/hostname'), 'base');
        await writeFile(join(dir, 'etc/conf.d/old'), 'old');
        await writeFile(join(dir, 'var/cache/blob'), Buffer.alloc(100_000, 1));
        await writeFile(join(dir, 'doomed'), 'x');
      });
      await driver.createReadWrite('work', 'base');
      await mounted(driver, 'work', async (dir) => {
        await writeFile(join(dir, 'etc/hostname'), 'changed in work');
        await rm(join(dir, 'etc/conf.d/old'));
        await rm(join(dir, 'var/cache'), { recursive: true });
        await rm(join(dir, 'doomed'));
        await mkdir(join(dir, 'opt/app'), { recursive: true });
        await writeFile(join(dir, 'opt/app/run'), '#!/bin/sh\n');
        await chmod(join(dir, 'opt/app/run'), 0o755);
        await writeFile(join(dir, 'opt/app/h1'), 'linked');
        await link(join(dir, 'opt/app/h1'), join(dir, 'opt/app/h2'));
        await symlink('app/run', join(dir, 'opt/run'));
        if (isRoot) {
          await lchown(join(dir, 'opt/app/run'), 1000, 1000);
          await makeSpecialFile(join(dir, 'opt/fifo'), 'fifo', { major: 0, minor: 0 }, 'fixture');
        }
      });
      const diffTar = await driver.diff('work', 'base');
      await driver.create('replay', 'base');
      const bytes = await driver.applyDiff('replay', 'base', diffTar);
      expectLayerSize(
        bytes,
        'changed in work'.length + '#!/bin/sh\n'.length + 'linked'.length,
        'app/run'.length,
      );
      expect(await layerSnapshot(driver, 'replay')).toEqual(await layerSnapshot(driver, 'work'));
      expect(Object.keys(await layerSnapshot(driver, 'base'))).toContain('/doomed');
    });

    driverCase('the diff of a base layer is its whole tree', async ({ driver }) => {
      await driver.create('base', null);
      await mounted(driver, 'base', async (dir) => {
        await mkdir(join(dir, 'bin'));
        await writeFile(join(dir, 'bin/sh'), 'shell');
        await symlink('bin', join(dir, 'sbin'));
      });
      await driver.create('copy', null);
      const bytes = await driver.applyDiff('copy', null, await driver.diff('base', null));
      expectLayerSize(bytes, 'shell'.length, 'bin'.length);
      expect(await layerSnapshot(driver, 'copy')).toEqual(await layerSnapshot(driver, 'base'));
    });

    driverCase(
      'applyDiff applies whiteouts and opaque directories, hiding lower content',
      async ({ driver }) => {
        await driver.create('lower', null);
        await mounted(driver, 'lower', async (dir) => {
          for (const d of ['a', 'd/sub', 'o/sub']) await mkdir(join(dir, d), { recursive: true });
          for (const f of ['a/f1', 'a/f2', 'd/x', 'd/sub/y', 'o/1', 'o/sub/2'])
            await writeFile(join(dir, f), f);
        });
        await driver.create('upper', 'lower');
        const tar = tarOf([
          { name: 'a/', type: 'directory', mode: 0o755 },
          { name: 'a/.wh.f1' },
          { name: '.wh.d' },
          { name: 'o/', type: 'directory', mode: 0o755 },
          { name: 'o/.wh..wh..opq' },
          { name: 'o/3', body: 'three' },
        ]);
        expect(await driver.applyDiff('upper', 'lower', tar)).toBe(5);
        await mounted(driver, 'upper', async (dir) => {
          expect((await readdir(dir)).sort()).toEqual(['a', 'o']);
          expect(await readdir(join(dir, 'a'))).toEqual(['f2']);
          expect(await readdir(join(dir, 'o'))).toEqual(['3']);
          expect(await readFile(join(dir, 'o/3'), 'utf8')).toBe('three');
        });
        await mounted(driver, 'lower', async (dir) => {
          expect((await readdir(dir)).sort()).toEqual(['a', 'd', 'o']);
          expect((await readdir(join(dir, 'o'))).sort()).toEqual(['1', 'sub']);
        });
      },
    );

    driverCase(
      'setParent (where offered): a layer applied as a base and moved onto a parent reads as if applied there',
      async ({ driver }) => {
        const setParent = driver.setParent?.bind(driver);
        if (!setParent) {
          // Not offered: nothing to check, and nothing in core may rely on it.
          expect(driver.setParent).toBeUndefined();
          return;
        }
        await driver.create('lower', null);
        await mounted(driver, 'lower', async (dir) => {
          await mkdir(join(dir, 'a'));
          for (const f of ['a/f1', 'a/f2', 'gone']) await writeFile(join(dir, f), f);
        });
        await driver.create('upper', null);
        const tar = tarOf([
          { name: 'a/', type: 'directory', mode: 0o755 },
          { name: 'a/.wh.f1' },
          { name: '.wh.gone' },
          { name: 'new', body: 'new' },
        ]);
        await driver.applyDiff('upper', null, tar);
        await setParent('upper', 'lower');
        await mounted(driver, 'upper', async (dir) => {
          expect((await readdir(dir)).sort()).toEqual(['a', 'new']);
          expect(await readdir(join(dir, 'a'))).toEqual(['f2']);
        });
        expect((await driver.changes('upper', 'lower')).map((c) => `${c.kind} ${c.path}`).sort()).toEqual([
          '0 /a',
          '1 /new',
          '2 /a/f1',
          '2 /gone',
        ]);
        // The parent has a layer on top now, and a mounted layer cannot move either.
        await expectKind(setParent('lower', null), 'conflict', 'parent with a child');
        await driver.create('other', null);
        await driver.get('other');
        try {
          await expectKind(setParent('other', 'lower'), 'conflict', 'mounted');
        } finally {
          await driver.put('other');
        }
        await expectKind(setParent('other', 'missing'), 'not-found', 'missing parent');
        await expectKind(setParent('missing', null), 'not-found', 'missing layer');
        await expectKind(setParent('upper', 'upper'), 'invalid-argument', 'itself');
        // Back to a base layer: only its own files.
        await driver.create('third', null);
        await setParent('third', 'upper');
        await setParent('third', null);
        await mounted(driver, 'third', async (dir) => expect(await readdir(dir)).toEqual([]));
      },
      { needsRoot: true },
    );

    driverCase('changes lists added, modified and deleted paths like docker diff', async ({ driver }) => {
      await driver.create('base', null);
      await mounted(driver, 'base', async (dir) => {
        await mkdir(join(dir, 'a'));
        await mkdir(join(dir, 'c'));
        await mkdir(join(dir, 'keep'));
        await writeFile(join(dir, 'a/b'), 'b');
        await writeFile(join(dir, 'c/d'), 'd');
        await writeFile(join(dir, 'e'), 'e');
        await writeFile(join(dir, 'keep/k'), 'k');
      });
      await driver.createReadWrite('ctr', 'base');
      await mounted(driver, 'ctr', async (dir) => {
        await writeFile(join(dir, 'a/b'), 'b, but longer');
        await rm(join(dir, 'c/d'));
        await rm(join(dir, 'e'));
        await mkdir(join(dir, 'f'));
        await writeFile(join(dir, 'f/g'), 'g');
      });
      expect(sortedChanges(await driver.changes('ctr', 'base'))).toEqual([
        'C /a',
        'C /a/b',
        'C /c',
        'D /c/d',
        'D /e',
        'A /f',
        'A /f/g',
      ]);
      const everything = sortedChanges(await driver.changes('base', null));
      expect(everything).toEqual(['A /a', 'A /a/b', 'A /c', 'A /c/d', 'A /e', 'A /keep', 'A /keep/k']);
    });

    driverCase('diffSize is the size of the added and modified files', async ({ driver }) => {
      await driver.create('base', null);
      await mounted(driver, 'base', async (dir) => {
        await writeFile(join(dir, 'modified'), Buffer.alloc(10));
        await writeFile(join(dir, 'deleted'), Buffer.alloc(1000));
        await writeFile(join(dir, 'same'), Buffer.alloc(1000));
      });
      await driver.createReadWrite('ctr', 'base');
      await mounted(driver, 'ctr', async (dir) => {
        await writeFile(join(dir, 'modified'), Buffer.alloc(50));
        await rm(join(dir, 'deleted'));
        await mkdir(join(dir, 'new'));
        await writeFile(join(dir, 'new/s1'), Buffer.alloc(100));
        await writeFile(join(dir, 'new/s2'), Buffer.alloc(200));
      });
      expect(await driver.diffSize('ctr', 'base')).toBe(350);
      expect(await driver.diffSize('base', null)).toBe(2010);
    });

    driverCase('get returns the layer path each time, and every get needs a put', async ({ driver }) => {
      await driver.create('layer', null);
      const first = await driver.get('layer');
      const second = await driver.get('layer');
      expect(second).toBe(first);
      await writeFile(join(first, 'f'), 'x');
      await driver.put('layer');
      // Still held by the second get.
      expect(await readFile(join(second, 'f'), 'utf8')).toBe('x');
      await driver.put('layer');
      await expectKind(driver.get('missing'), 'not-found');
    });

    driverCase(
      `put without a get ${options.putWithoutGet === 'ignored' ? 'is ignored' : 'is rejected'}`,
      async ({ driver }) => {
        await driver.create('layer', null);
        if (options.putWithoutGet === 'ignored') await driver.put('layer');
        else await expectRejectsTsdocker(driver.put('layer'));
        await driver.get('layer');
        await driver.put('layer');
        if (options.putWithoutGet === 'ignored') await driver.put('layer');
        else await expectRejectsTsdocker(driver.put('layer'));
        await mounted(driver, 'layer', async (dir) => expect(await readdir(dir)).toEqual([]));
      },
    );

    driverCase(
      "a directory removed and made again keeps none of the parent's content, through diff and applyDiff too",
      async ({ driver }) => {
        await driver.create('base', null);
        await mounted(driver, 'base', async (dir) => {
          await mkdir(join(dir, 'd/sub'), { recursive: true });
          for (const f of ['d/a', 'd/b', 'd/sub/c', 'other']) await writeFile(join(dir, f), f);
        });
        await driver.createReadWrite('ctr', 'base');
        await mounted(driver, 'ctr', async (dir) => {
          await rm(join(dir, 'd'), { recursive: true });
          await mkdir(join(dir, 'd'));
          await writeFile(join(dir, 'd/new'), 'new');
          await writeFile(join(dir, 'd/a'), 'a again');
        });
        await mounted(driver, 'ctr', async (dir) => {
          expect((await readdir(join(dir, 'd'))).sort()).toEqual(['a', 'new']);
        });
        const changes = sortedChanges(await driver.changes('ctr', 'base'));
        expect(changes).toEqual(expect.arrayContaining(['D /d/b', 'D /d/sub', 'A /d/new']));
        expect(changes.filter((c) => c.endsWith('/other') || c.startsWith('A /d/sub'))).toEqual([]);
        await driver.create('replay', 'base');
        await driver.applyDiff('replay', 'base', await driver.diff('ctr', 'base'));
        expect(await layerSnapshot(driver, 'replay')).toEqual(await layerSnapshot(driver, 'ctr'));
        await mounted(driver, 'base', async (dir) => {
          expect((await readdir(join(dir, 'd'))).sort()).toEqual(['a', 'b', 'sub']);
        });
      },
    );

    driverCase('concurrent gets of one layer share it, and as many puts release it', async ({ driver }) => {
      await driver.create('base', null);
      await driver.createReadWrite('layer', 'base');
      const paths = await Promise.all(Array.from({ length: 5 }, () => driver.get('layer')));
      expect(new Set(paths).size).toBe(1);
      await writeFile(join(paths[0]!, 'f'), 'shared');
      await Promise.all(paths.slice(1).map(() => driver.put('layer')));
      expect(await readFile(join(paths[0]!, 'f'), 'utf8')).toBe('shared');
      await driver.put('layer');
      await mounted(driver, 'layer', async (dir) =>
        expect(await readFile(join(dir, 'f'), 'utf8')).toBe('shared'),
      );
    });

    driverCase('cleanup can be called twice', async ({ driver }) => {
      await driver.create('layer', null);
      await driver.cleanup();
      await driver.cleanup();
    });

    driverCase('invalid ids are rejected before they become paths', async ({ driver, root }) => {
      const invalid = ['', '.', '..', '../escape', 'a/b', '/abs', 'nul\0byte'];
      await driver.create('ok', null);
      for (const id of invalid) {
        const label = JSON.stringify(id);
        await expectKind(driver.create(id, null), 'invalid-argument', label);
        await expectKind(driver.createReadWrite(id, null), 'invalid-argument', label);
        await expectKind(driver.create('fine', id), 'invalid-argument', label);
        await expectKind(driver.get(id), 'invalid-argument', label);
        await expectKind(driver.put(id), 'invalid-argument', label);
        await expectKind(driver.exists(id), 'invalid-argument', label);
        await expectKind(driver.remove(id), 'invalid-argument', label);
      }
      expect(await driver.exists('ok')).toBe(true);
      expect(await driver.exists('fine')).toBe(false);
      expect(await readdir(join(root, '..'))).not.toContain('escape');
      expect(await describeTree(root)).not.toMatch(/escape/);
    });
  });
}

/** Runs `use` on the mounted layer, putting it back afterwards. */
async function mounted<T>(driver: GraphDriver, id: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await driver.get(id);
  try {
    return await use(dir);
  } finally {
    await driver.put(id);
  }
}

async function expectKind(promise: Promise<unknown>, kind: TsdockerError['kind'], label = ''): Promise<void> {
  const err = await promise.then(
    () => new Error(`expected a ${kind} error ${label}, but it succeeded`),
    (e: unknown) => e,
  );
  expect(TsdockerError.is(err, kind), `${label}: ${String(err)}`).toBe(true);
}

async function expectRejectsTsdocker(promise: Promise<unknown>): Promise<void> {
  const err = await promise.then(
    () => new Error('expected a TsdockerError, but it succeeded'),
    (e: unknown) => e,
  );
  expect(TsdockerError.is(err), String(err)).toBe(true);
}

const sortedChanges = (changes: Change[]) =>
  changes
    .map((c) => `${'CAD'[c.kind]} ${c.path}`)
    .sort((a, b) => (a.slice(2) < b.slice(2) ? -1 : a.slice(2) > b.slice(2) ? 1 : 0));

/** The fixture of the snapshot case; needs root (owners, device nodes). */
async function writeSpecialTree(dir: string): Promise<void> {
  await writeFile(join(dir, 'owned'), 'owned by 1000');
  await lchown(join(dir, 'owned'), 1000, 1000);
  await chmod(join(dir, 'owned'), 0o640);
  await utimes(join(dir, 'owned'), FIXED_TIME, FIXED_TIME);
  await writeFile(join(dir, 'setuid'), '#!/bin/sh\n');
  await chmod(join(dir, 'setuid'), 0o4755);
  await mkdir(join(dir, 'setgid-dir'));
  await chmod(join(dir, 'setgid-dir'), 0o2775);
  await mkdir(join(dir, 'sticky'));
  await chmod(join(dir, 'sticky'), 0o1777);
  await symlink('owned', join(dir, 'link'));
  await lchown(join(dir, 'link'), 1000, 1000);
  await lutimes(join(dir, 'link'), FIXED_TIME, FIXED_TIME);
  await symlink('/etc/passwd', join(dir, 'abs-link'));
  await writeFile(join(dir, 'hard1'), 'shared inode');
  await link(join(dir, 'hard1'), join(dir, 'hard2'));
  await makeSpecialFile(join(dir, 'fifo'), 'fifo', { major: 0, minor: 0 }, 'fixture');
  await makeSpecialFile(join(dir, 'null'), 'character-device', { major: 1, minor: 3 }, 'fixture');
  await chmod(join(dir, 'null'), 0o666);
}

type TarEntry = Partial<Header> & { name: string; body?: string };

/** A small tar built in memory (test fixtures only). */
function tarOf(entries: TarEntry[]): Readable {
  const tar = pack();
  for (const { body, ...header } of entries) tar.entry({ mtime: FIXED_TIME, ...header }, body ?? '');
  tar.finalize();
  return Readable.from(tar, { objectMode: false });
}

/**
 * What a layer holds, one line per path: type, permissions, owner, link count, content hash or
 * link target, device number, and whole-second mtime of non-directories (a tar keeps no more, and
 * directory times are not part of a diff, as in moby).
 */
async function layerSnapshot(driver: GraphDriver, id: string): Promise<Record<string, string>> {
  return mounted(driver, id, async (dir) => {
    const out: Record<string, string> = {};
    async function walk(abs: string, rel: string): Promise<void> {
      for (const entry of (await readdir(abs)).sort()) {
        const path = join(abs, entry);
        const key = `${rel}/${entry}`;
        const st = await lstat(path);
        let what = 'other';
        if (st.isDirectory()) what = 'dir';
        else if (st.isSymbolicLink()) what = `symlink->${await readlink(path)}`;
        else if (st.isFile()) {
          const hash = createHash('sha256')
            .update(await readFile(path))
            .digest('hex')
            .slice(0, 16);
          what = `file:${st.size}:${hash}:links=${st.nlink}`;
        } else if (st.isFIFO()) what = 'fifo';
        else if (st.isCharacterDevice() || st.isBlockDevice()) what = `dev:${st.rdev}`;
        const mode = st.isSymbolicLink() ? '' : (st.mode & 0o7777).toString(8);
        const time = st.isDirectory() ? '' : ` t=${Math.floor(st.mtimeMs / 1000)}`;
        out[key] = `${what} ${mode} ${st.uid}:${st.gid}${time}`;
        if (st.isDirectory()) await walk(path, key);
      }
    }
    await walk(dir, '');
    return out;
  });
}

/** A listing of `root` for failure messages, cut after a few hundred lines. */
async function describeTree(root: string): Promise<string> {
  const lines: string[] = [];
  async function walk(abs: string, rel: string): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(abs)).sort();
    } catch (err) {
      lines.push(`${rel || '.'}: ${(err as Error).message}`);
      return;
    }
    for (const entry of names) {
      if (lines.length > TREE_DUMP_LINES) return;
      const path = join(abs, entry);
      const st = await lstat(path).catch(() => null);
      if (!st) continue;
      const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? '-' : '?';
      lines.push(`${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.size} ${rel}/${entry}`);
      if (st.isDirectory()) await walk(path, `${rel}/${entry}`);
    }
  }
  await walk(root, '');
  if (lines.length > TREE_DUMP_LINES) lines.splice(TREE_DUMP_LINES, Infinity, '… (cut)');
  return `Tree under ${root}:\n${lines.join('\n')}`;
}
