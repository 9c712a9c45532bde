/**
 * Issue 5, acceptance 2: crafted archives through every door that takes a tar — `docker import`,
 * `docker load` (the crafted tar as a layer) and `docker cp` into a container — with the real
 * docker CLI, on both graph drivers. Each one is refused with an error that says why, and
 * nothing is written outside the root: the host directory the archives aim at stays empty.
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxTar } from '../helpers/busybox-image.js';
import { type DaemonHandle, startDaemon } from '../helpers/daemon.js';

const DRIVERS = ['vfs', 'overlay2'] as const;

/** Runs GNU tar; fails the test if tar itself fails. */
function tar(args: string[]): void {
  const r = spawnSync('tar', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr}`);
}

/**
 * The crafted layers, each aimed at `target` (a host directory that must stay empty), with the
 * words the refusal must contain.
 */
function craftArchives(work: string, target: string): Array<{ name: string; path: string; refusal: RegExp }> {
  const src = join(work, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'f'), 'crafted\n');
  const depth = '../'.repeat(12);
  const dotdot = join(work, 'dotdot.tar');
  tar(['-C', src, '-P', '--transform', `s,^f$,${depth}${target.slice(1)}/dotdot,`, '-cf', dotdot, 'f']);
  const absolute = join(work, 'absolute.tar');
  tar(['-C', src, '-P', '--transform', `s,^f$,${target}/absolute,`, '-cf', absolute, 'f']);
  // A symlink to the target, then a file written "through" it.
  symlinkSync(target, join(src, 'pwn'));
  const through = join(work, 'through-symlink.tar');
  tar(['-C', src, '-cf', through, 'pwn']);
  tar(['-C', src, '--transform', 's,^f$,pwn/through,', '-rf', through, 'f']);
  return [
    { name: 'a `..` path', path: dotdot, refusal: /"\.\." in path|outside|escape/i },
    { name: 'an absolute path', path: absolute, refusal: /absolute path|outside|escape/i },
    { name: 'a write through a symlink', path: through, refusal: /symlink|link|outside|escape/i },
  ];
}

/** A `docker save`-layout archive with `layer` as its one layer (the diff id is right). */
function dockerArchiveWith(work: string, layer: string, tag: string): string {
  const dir = mkdtempSync(join(work, 'archive-'));
  const layerBytes = readFileSync(layer);
  const diffId = `sha256:${createHash('sha256').update(layerBytes).digest('hex')}`;
  mkdirSync(join(dir, 'l'));
  writeFileSync(join(dir, 'l', 'layer.tar'), layerBytes);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: '2026-11-28T00:00:00Z', created_by: 'crafted' }],
  });
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(join(dir, configName), config);
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: ['l/layer.tar'] }]),
  );
  const out = `${dir}.tar`;
  tar(['-C', dir, '-cf', out, 'manifest.json', configName, 'l']);
  return out;
}

for (const driver of DRIVERS) {
  describe(`crafted archives through every door on ${driver}`, () => {
    let d: DaemonHandle;
    let work = '';
    let target = '';
    let crafted: ReturnType<typeof craftArchives> = [];

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'tsd-crafted-'));
      target = mkdtempSync(join(tmpdir(), 'tsd-crafted-target-'));
      crafted = craftArchives(work, target);
      d = await startDaemon({ config: { 'storage-driver': driver } });
      const bb = d.docker(['import', await buildBusyboxTar(work), 'busybox']);
      if (bb.status !== 0) throw new Error(bb.stderr);
    });

    afterAll(async () => {
      try {
        if (d) {
          const left = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
          if (left.length) d.docker(['rm', '-f', ...left]);
          await d.stop();
        }
      } finally {
        for (const dir of [work, target]) if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });

    const imageIds = () =>
      d.docker(['images', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean).sort();

    it('docker import refuses each one and stores nothing', () => {
      const before = imageIds();
      for (const [i, { name, path, refusal }] of crafted.entries()) {
        const r = d.docker(['import', path, `evil-import:${i}`]);
        expect(r.status, name).not.toBe(0);
        expect(r.stderr, name).toMatch(refusal);
        expect(readdirSync(target), name).toEqual([]);
      }
      expect(imageIds()).toEqual(before);
    });

    it('docker load refuses each one as a layer and stores nothing', () => {
      const before = imageIds();
      for (const [i, { name, path, refusal }] of crafted.entries()) {
        const archive = dockerArchiveWith(work, path, `evil-load:${i}`);
        const r = d.docker(['load', '-i', archive]);
        expect(r.status, name).not.toBe(0);
        expect(r.stderr, name).toMatch(refusal);
        expect(readdirSync(target), name).toEqual([]);
      }
      expect(imageIds()).toEqual(before);
      expect(d.docker(['image', 'inspect', 'evil-load:0']).status).not.toBe(0);
    });

    it('docker cp into a container refuses each one, running or stopped', () => {
      const running = d.docker(['run', '-d', 'busybox', 'sleep', '60']).stdout.trim();
      const stopped = d.docker(['create', 'busybox', 'true']).stdout.trim();
      try {
        for (const id of [running, stopped]) {
          for (const { name, path, refusal } of crafted) {
            const r = spawnSync('sh', ['-c', `docker cp - ${id}:/tmp < ${path}`], {
              env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') },
              encoding: 'utf8',
            });
            expect(r.status, name).not.toBe(0);
            expect(r.stderr, name).toMatch(refusal);
            expect(readdirSync(target), name).toEqual([]);
          }
        }
      } finally {
        d.docker(['rm', '-f', running, stopped]);
      }
      expect(existsSync(join(target, 'through'))).toBe(false);
    });
  });
}
