/**
 * Issue 3's container filesystem, end to end with the stock docker CLI: `docker diff`,
 * `docker commit` (with `--change`, `-m`, `-a`), `docker export` and `docker cp` both ways, on
 * stopped and running containers, including the symlink cases that must stay inside the
 * container. Runs once per graph driver.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxTar } from '../helpers/busybox-image.js';
import { type DaemonHandle, startDaemon } from '../helpers/daemon.js';

const DRIVERS = ['vfs', 'overlay2'] as const;

for (const driver of DRIVERS) {
  describe(`container filesystem on ${driver}`, () => {
    let d: DaemonHandle;
    let host = '';
    let busyboxId = '';

    /** Runs docker; a non-zero exit fails the test with the daemon's log. */
    function ok(args: string[], input?: string): string {
      const r = d.docker(args, { input });
      if (r.status !== 0) {
        throw new Error(
          `docker ${args.join(' ')} exited ${r.status}: ${r.stderr}\n--- daemon log ---\n${d.logs().slice(-4000)}`,
        );
      }
      return r.stdout;
    }

    /** Runs docker with the working directory `host` (relative host paths in `docker cp`). */
    function dockerIn(args: string[]) {
      return spawnSync('docker', args, {
        cwd: host,
        env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') },
        encoding: 'utf8',
        timeout: 60_000,
      });
    }

    function okIn(args: string[]): string {
      const r = dockerIn(args);
      if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      return r.stdout;
    }

    /** Host paths an escape would have created; removed afterwards should a test have failed. */
    const escapeTargets: string[] = [];
    /** A name no host path has: what escapes would create is looked for under it. */
    const unique = (what: string) => {
      const name = `tsd-cp-${what}-${randomBytes(6).toString('hex')}`;
      escapeTargets.push(
        `/${name}`,
        `/etc/${name}`,
        `/tmp/${name}-dotdot`,
        `/tmp/${name}-abs`,
        `/tmp/${name}-link`,
      );
      return name;
    };

    /** The names and owners in a tar that `docker cp c:path -` printed. */
    function tarListing(container: string, path: string): string[] {
      const tar = spawnSync('docker', ['cp', `${container}:${path}`, '-'], {
        env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') },
        encoding: 'buffer',
        timeout: 60_000,
      });
      if (tar.status !== 0) throw new Error(`docker cp ${container}:${path} - failed: ${tar.stderr}`);
      const list = spawnSync('tar', ['-tv', '--numeric-owner', '-f', '-'], {
        input: tar.stdout,
        encoding: 'utf8',
      });
      return list.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const f = line.split(/\s+/);
          return `${f[1]} ${f.slice(5).join(' ')}`;
        });
    }

    beforeAll(async () => {
      d = await startDaemon({ config: { 'storage-driver': driver } });
      host = join(d.dir, 'host');
      mkdirSync(host);
      const tar = await buildBusyboxTar(d.dir);
      busyboxId = ok(['import', '--change', 'CMD ["sh"]', tar, 'busybox:latest']).trim();
    });

    afterAll(async () => {
      for (const path of escapeTargets) rmSync(path, { force: true });
      if (!d) return;
      const left = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (left.length) d.docker(['rm', '-f', ...left]);
      await d.stop();
    });

    describe('docker diff and docker commit', () => {
      beforeAll(() => {
        ok([
          'run',
          '--name',
          'changed',
          'busybox',
          'sh',
          '-c',
          'echo hello > /new && echo extra >> /etc/group && rm /bin/rm',
        ]);
      });

      it('docker diff lists exactly what the container added, changed and deleted', () => {
        expect(ok(['diff', 'changed'])).toBe('C /bin\nD /bin/rm\nC /etc\nC /etc/group\nA /new\n');
        ok(['create', '--name', 'pristine', 'busybox']);
        expect(ok(['diff', 'pristine'])).toBe('');
        ok(['rm', 'pristine']);
      });

      it('docker ps -s and inspect --size report what the container wrote, and that plus its image', () => {
        ok(['run', '--name', 'sized', 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /blob']);
        try {
          const [rw, rootFs] = ok(['inspect', '--size', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'sized'])
            .trim()
            .split(' ')
            .map(Number);
          expect(rw).toBeGreaterThanOrEqual(100_000);
          expect(rw).toBeLessThan(110_000);
          expect(rootFs).toBeGreaterThan(rw! + 1_000_000); // busybox itself is ~2 MB
          const size = ok(['ps', '-a', '-s', '--filter', 'name=sized', '--format', '{{.Size}}']).trim();
          expect(size).toMatch(/^\d+(\.\d+)?kB \(virtual \d+(\.\d+)?MB\)$/);
        } finally {
          ok(['rm', 'sized']);
        }
      });

      it('docker commit stores the diff as a layer; a container of the image sees it', () => {
        const id = ok([
          'commit',
          '-c',
          'CMD ["cat","/new"]',
          '-m',
          'the message',
          '-a',
          'Jane <jane@example.com>',
          'changed',
          'committed:v1',
        ]).trim();
        expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(ok(['run', '--rm', 'committed:v1'])).toBe('hello\n');
        expect(
          ok(['run', '--rm', 'committed:v1', 'sh', '-c', 'test ! -e /bin/rm && tail -n 1 /etc/group']),
        ).toBe('extra\n');
        ok(['create', '--name', 'child', 'committed:v1']);
        expect(ok(['diff', 'child'])).toBe('');
        ok(['rm', 'child']);
      });

      it('docker inspect and docker history show the change, author, message and parent', () => {
        const inspect = JSON.parse(ok(['image', 'inspect', 'committed:v1']))[0];
        expect(inspect.Author).toBe('Jane <jane@example.com>');
        expect(inspect.Config.Cmd).toEqual(['cat', '/new']);
        expect(inspect.Parent).toBe(busyboxId);
        expect(inspect.RootFS.Layers).toHaveLength(2);
        const history = ok([
          'history',
          '--no-trunc',
          '--format',
          '{{.CreatedBy}}|{{.Comment}}',
          'committed:v1',
        ]);
        expect(history.split('\n')[0]).toBe(
          'sh -c echo hello > /new && echo extra >> /etc/group && rm /bin/rm|the message',
        );
        expect(ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain('committed:v1');
      });

      it('docker commit pauses a running container only while it reads it', () => {
        ok(['run', '-d', '--name', 'live', 'busybox', 'sleep', '1000']);
        ok(['exec', 'live', 'touch', '/made-live']);
        const id = ok(['commit', 'live']).trim();
        expect(ok(['inspect', '-f', '{{.State.Status}}', 'live'])).toBe('running\n');
        expect(ok(['run', '--rm', id, 'ls', '/made-live'])).toBe('/made-live\n');
        ok(['commit', '--pause=false', 'live', 'unpaused:1']);
        ok(['rm', '-f', 'live']);
      });
    });

    describe('docker export', () => {
      it('writes the whole filesystem of a container as a tar', () => {
        ok(['run', '--name', 'exported', 'busybox', 'sh', '-c', 'echo x > /exported-file && rm /bin/rm']);
        const out = join(host, 'exported.tar');
        ok(['export', '-o', out, 'exported']);
        const names = spawnSync('tar', ['-tf', out], { encoding: 'utf8' }).stdout.split('\n');
        expect(names).toEqual(
          expect.arrayContaining(['bin/', 'bin/sh', 'exported-file', 'etc/passwd', '.dockerenv']),
        );
        expect(names).not.toContain('bin/rm');
        ok(['rm', 'exported']);
      });
    });

    describe('docker cp', () => {
      beforeAll(() => {
        writeFileSync(join(host, 'up.txt'), 'uploaded\n');
        mkdirSync(join(host, 'dirsrc/sub'), { recursive: true });
        writeFileSync(join(host, 'dirsrc/sub/f'), 'deep\n');
        writeFileSync(join(host, 'owned.txt'), 'owned\n');
        chownSync(join(host, 'owned.txt'), 1234, 4321);
        // A stopped container whose /tmp/link -> /etc and /escape -> /.
        ok(['run', '--name', 'links', 'busybox', 'sh', '-c', 'ln -s /etc /tmp/link && ln -s / /escape']);
      });

      it('copies a file and a directory out of a stopped container, also to a new name', () => {
        okIn(['cp', 'links:/etc/passwd', '.']);
        expect(readFileSync(join(host, 'passwd'), 'utf8')).toContain('www-data');
        okIn(['cp', 'links:/etc', 'etc-copy']);
        expect(readFileSync(join(host, 'etc-copy/group'), 'utf8')).toContain('nogroup');
        okIn(['cp', 'links:/etc/', './']);
        expect(existsSync(join(host, 'etc/passwd'))).toBe(true);
        expect(tarListing('links', '/etc/passwd')).toEqual(['0/0 passwd']);
        // The whole root, and a directory's contents (`dir/.`), to new names.
        okIn(['cp', 'links:/', 'rootcopy']);
        expect(readFileSync(join(host, 'rootcopy/etc/passwd'), 'utf8')).toContain('www-data');
        expect(readlinkSync(join(host, 'rootcopy/escape'))).toBe('/');
        okIn(['cp', 'links:/etc/.', 'etc-contents']);
        expect(readFileSync(join(host, 'etc-contents/group'), 'utf8')).toContain('nogroup');
      });

      it('copies a link as a link, and what it points to with -L', () => {
        okIn(['cp', 'links:/tmp/link', 'the-link']);
        expect(readlinkSync(join(host, 'the-link'))).toBe('/etc');
        okIn(['cp', '-L', 'links:/tmp/link', 'followed']);
        expect(statSync(join(host, 'followed')).isDirectory()).toBe(true);
        expect(readFileSync(join(host, 'followed/passwd'), 'utf8')).toContain('www-data');
        // Through a link to `/`, the container's files, never the host's.
        okIn(['cp', 'links:/escape/etc/passwd', 'via-escape']);
        expect(readFileSync(join(host, 'via-escape'), 'utf8')).toContain('www-data');
      });

      it('copies a file and a directory into a stopped container, also to a new name', () => {
        okIn(['cp', 'up.txt', 'links:/tmp/']);
        okIn(['cp', 'up.txt', 'links:/tmp/renamed.txt']);
        okIn(['cp', 'dirsrc', 'links:/tmp/']);
        okIn(['cp', 'dirsrc', 'links:/tmp/newdir']);
        const diff = ok(['diff', 'links']).split('\n');
        expect(diff).toEqual(
          expect.arrayContaining([
            'A /tmp/up.txt',
            'A /tmp/renamed.txt',
            'A /tmp/dirsrc/sub/f',
            'A /tmp/newdir/sub/f',
          ]),
        );
        expect(tarListing('links', '/tmp/newdir')).toEqual(
          expect.arrayContaining(['0/0 newdir/', '0/0 newdir/sub/f']),
        );
      });

      it('docker cp into a path through /escape -> / lands at the container’s root, never the host’s', () => {
        const name = unique('escape');
        writeFileSync(join(host, 'payload'), 'payload\n');
        okIn(['cp', 'payload', `links:/escape/${name}`]);
        expect(existsSync(`/${name}`)).toBe(false);
        expect(ok(['diff', 'links']).split('\n')).toContain(`A /${name}`);
        // Into /tmp/link/ (-> /etc): the container's /etc.
        const inEtc = unique('etc');
        writeFileSync(join(host, inEtc), 'x\n');
        okIn(['cp', inEtc, 'links:/tmp/link/']);
        expect(existsSync(`/etc/${inEtc}`)).toBe(false);
        expect(ok(['diff', 'links']).split('\n')).toContain(`A /etc/${inEtc}`);
      });

      it('keeps the archive’s owners, and gives the container user’s with -a', () => {
        ok(['create', '--name', 'www', '--user', 'www-data', 'busybox']);
        okIn(['cp', 'owned.txt', 'www:/tmp/kept.txt']);
        okIn(['cp', '-a', 'owned.txt', 'www:/tmp/archived.txt']);
        expect(tarListing('www', '/tmp/kept.txt')).toEqual(['1234/4321 kept.txt']);
        expect(tarListing('www', '/tmp/archived.txt')).toEqual(['33/33 archived.txt']);
        ok(['rm', 'www']);
      });

      it('works on a running container, which keeps running', () => {
        ok(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '1000']);
        okIn(['cp', 'up.txt', 'busy:/tmp/']);
        expect(ok(['exec', 'busy', 'cat', '/tmp/up.txt'])).toBe('uploaded\n');
        ok(['exec', 'busy', 'sh', '-c', 'echo from-inside > /tmp/inside']);
        okIn(['cp', 'busy:/tmp/inside', 'inside']);
        expect(readFileSync(join(host, 'inside'), 'utf8')).toBe('from-inside\n');
        okIn(['cp', 'busy:/etc/hostname', 'hostname']);
        expect(readFileSync(join(host, 'hostname'), 'utf8')).toBe(
          `${ok(['inspect', '-f', '{{.Config.Hostname}}', 'busy']).trim()}\n`,
        );
        expect(ok(['inspect', '-f', '{{.State.Status}}', 'busy'])).toBe('running\n');
        ok(['rm', '-f', 'busy']);
      });

      it('refuses a read-only rootfs, a file where a directory is, and a missing path', () => {
        ok(['create', '--name', 'ro', '--read-only', 'busybox']);
        const ro = dockerIn(['cp', 'up.txt', 'ro:/tmp/']);
        expect(ro.status).not.toBe(0);
        expect(ro.stderr).toContain('container rootfs is marked read-only');
        ok(['rm', 'ro']);
        const missing = dockerIn(['cp', 'links:/nosuch', 'x']);
        expect(missing.status).not.toBe(0);
        expect(missing.stderr).toContain('Could not find the file /nosuch in container links');
        // The daemon refuses to replace a directory with a file (noOverwriteDirNonDir).
        mkdirSync(join(host, 'swap'));
        writeFileSync(join(host, 'swap/tmp'), 'a file named tmp\n');
        const swap = dockerIn(['cp', 'swap/tmp', 'links:/']);
        expect(swap.status).not.toBe(0);
        expect(swap.stderr).toContain('cannot overwrite directory "/tmp" with non-directory "/"');
        expect(tarListing('links', '/tmp/up.txt')).toEqual(['0/0 up.txt']);
      });

      it('an uploaded tar with `..`, absolute names or link tricks writes nothing outside', () => {
        const target = unique('crafted');
        const crafted = join(host, 'crafted');
        mkdirSync(crafted);
        writeFileSync(join(crafted, 'f'), 'x');
        // GNU tar keeps `../` and absolute names with -P; the link trick goes through `pwn -> /`.
        const tars: Array<[args: string[], refusal: string]> = [
          [['-P', '--transform', `s,^f$,../../../../../tmp/${target}-dotdot,`, 'f'], '".." in path'],
          [['-P', '--transform', `s,^f$,/tmp/${target}-abs,`, 'f'], 'absolute path'],
        ];
        for (const [i, [args, refusal]] of tars.entries()) {
          const tarPath = join(host, `crafted-${i}.tar`);
          expect(spawnSync('tar', ['-C', crafted, '-cf', tarPath, ...args]).status).toBe(0);
          const r = spawnSync('sh', ['-c', `docker cp - links:/tmp < ${tarPath}`], {
            env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') },
            encoding: 'utf8',
          });
          expect(r.status).not.toBe(0);
          expect(r.stderr).toContain(refusal);
        }
        spawnSync('ln', ['-s', '/', join(crafted, 'pwn')]);
        const linkTar = join(host, 'crafted-link.tar');
        expect(
          spawnSync('tar', [
            '-C',
            crafted,
            '-cf',
            linkTar,
            'pwn',
            '--transform',
            `s,^f$,pwn/tmp/${target}-link,`,
            'f',
          ]).status,
        ).toBe(0);
        const r = spawnSync('sh', ['-c', `docker cp - links:/tmp < ${linkTar}`], {
          env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') },
          encoding: 'utf8',
        });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain('parent "pwn" is a symlink');
        for (const suffix of ['dotdot', 'abs', 'link'])
          expect(existsSync(`/tmp/${target}-${suffix}`)).toBe(false);
      });
    });
  });
}
