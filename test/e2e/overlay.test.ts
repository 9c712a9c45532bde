/**
 * The daemon end to end on the overlay2 storage driver: containers run on overlay mounts of the
 * image's layers, see and keep their own changes, and no mount outlives the daemon.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxTar } from '../helpers/busybox-image.js';
import { type DaemonHandle, startDaemon } from '../helpers/daemon.js';

let d: DaemonHandle;
let dir: string;

/** Mount points under `root`, from /proc/mounts. */
function mountsUnder(root: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((path) => path === root || path.startsWith(`${root}/`));
}

function ok(r: ReturnType<DaemonHandle['docker']>): string {
  if (r.status !== 0)
    throw new Error(`docker exited ${r.status}: ${r.stderr}\n--- daemon log ---\n${d.logs().slice(-4000)}`);
  return r.stdout;
}

beforeAll(async () => {
  d = await startDaemon({ config: { 'storage-driver': 'overlay2' } });
  dir = d.dir;
  const tar = await buildBusyboxTar(d.dir);
  ok(d.docker(['import', '--change', 'CMD ["sh"]', tar, 'busybox:latest']));
});

afterAll(async () => {
  if (!d) return;
  const left = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (left.length) d.docker(['rm', '-f', ...left]);
  await d.stop();
  expect(mountsUnder(dir)).toEqual([]);
});

describe('overlay2 end to end', () => {
  it('docker info shows the overlay2 driver and its status', () => {
    const out = ok(d.docker(['info']));
    expect(out).toMatch(/Storage Driver: overlay2\n/);
    expect(out).toMatch(/Backing Filesystem: extfs\n/);
    expect(out).toMatch(/Supports d_type: true\n/);
    expect(out).toMatch(/Native Overlay Diff: true\n/);
  });

  it('docker run --rm writes and reads files, deletes image files, and leaves the image alone', () => {
    const r = d.docker([
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'echo written > /tmp/f && cat /tmp/f && rm /bin/ls && test ! -e /bin/ls && echo gone',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('written\ngone\n');
    expect(r.status).toBe(0);
    // A fresh container sees the image as it was.
    expect(
      ok(
        d.docker([
          'run',
          '--rm',
          'busybox',
          'sh',
          '-c',
          'test -e /bin/ls && ! test -e /tmp/f && echo intact',
        ]),
      ),
    ).toBe('intact\n');
    expect(mountsUnder(join(d.dataRoot, 'overlay2'))).toEqual([]);
  });

  it("a container's root filesystem is an overlay mount while it runs, released at removal", () => {
    const id = ok(d.docker(['run', '-d', 'busybox', 'sleep', '300'])).trim();
    try {
      const mounts = mountsUnder(join(d.dataRoot, 'overlay2'));
      expect(mounts).toHaveLength(1);
      expect(mounts[0]).toMatch(/\/overlay2\/[0-9a-f]{64}\/merged$/);
      const fsType = readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .find((line) => line.split(' ')[1] === mounts[0])
        ?.split(' ')[2];
      expect(fsType).toBe('overlay');
      ok(d.docker(['exec', id, 'sh', '-c', 'mkdir -p /data && echo kept > /data/file']));
      expect(ok(d.docker(['exec', id, 'cat', '/data/file']))).toBe('kept\n');
    } finally {
      ok(d.docker(['rm', '-f', id]));
    }
    expect(mountsUnder(join(d.dataRoot, 'overlay2'))).toEqual([]);
  });

  it('a stopped container keeps its changes and sees them when started again', () => {
    const id = ok(d.docker(['run', '-d', 'busybox', 'sh', '-c', 'echo one >> /log; cat /log'])).trim();
    try {
      ok(d.docker(['wait', id]));
      ok(d.docker(['start', '-a', id]));
      expect(ok(d.docker(['logs', id]))).toBe('one\none\none\n');
    } finally {
      ok(d.docker(['rm', '-f', id]));
    }
  });

  it('docker diff and docker commit read the container layer natively', () => {
    const id = ok(
      d.docker([
        'run',
        '-d',
        'busybox',
        'sh',
        '-c',
        'rm /bin/ls; mkdir /data; echo v1 > /data/file; rm -r /etc; mkdir /etc; echo x > /etc/only',
      ]),
    ).trim();
    try {
      ok(d.docker(['wait', id]));
      const changes = ok(d.docker(['diff', id]))
        .trim()
        .split('\n');
      expect(changes).toEqual(
        expect.arrayContaining(['C /bin', 'D /bin/ls', 'A /data', 'A /data/file', 'A /etc/only']),
      );
      ok(d.docker(['commit', id, 'committed:latest']));
      const r = d.docker([
        'run',
        '--rm',
        'committed:latest',
        'sh',
        '-c',
        'cat /data/file; cat /etc/only; test -e /etc/passwd || echo no-passwd; test -e /bin/ls || echo no-ls',
      ]);
      expect(r.stdout).toBe('v1\nx\nno-passwd\nno-ls\n');
    } finally {
      ok(d.docker(['rm', '-f', id]));
      d.docker(['rmi', 'committed:latest']);
    }
  });

  it('the daemon comes back on the same layers after a restart', async () => {
    await d.restart();
    expect(ok(d.docker(['info']))).toMatch(/Storage Driver: overlay2\n/);
    expect(ok(d.docker(['run', '--rm', 'busybox', 'cat', '/etc/hostname'])).length).toBeGreaterThan(0);
  });

  it('nothing stays mounted once the daemon has exited', async () => {
    const id = ok(d.docker(['run', '-d', 'busybox', 'sleep', '300'])).trim();
    expect(mountsUnder(dir).length).toBeGreaterThan(0);
    expect(await d.terminate()).toBe(0);
    expect(mountsUnder(dir)).toEqual([]);
    await d.restart(); // for afterAll, which removes what is left
    ok(d.docker(['rm', '-f', id]));
  });
});
