/** Issue 2, acceptance 6: dockerode (npm) runs create/start/wait/logs against tsdocker. */
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxTar } from '../helpers/busybox-image.js';
import { type DaemonHandle, startDaemon } from '../helpers/daemon.js';

let d: DaemonHandle;
let docker: Docker;

beforeAll(async () => {
  d = await startDaemon();
  const tar = await buildBusyboxTar(d.dir);
  const r = d.docker(['import', tar, 'busybox:latest']);
  if (r.status !== 0) throw new Error(r.stderr);
  docker = new Docker({ socketPath: d.socket });
});

afterAll(async () => {
  await d?.stop();
});

describe('dockerode', () => {
  it('create → start → wait → logs', async () => {
    const container = await docker.createContainer({
      Image: 'busybox',
      Cmd: ['sh', '-c', 'echo from-dockerode; echo to-stderr >&2; exit 3'],
      Tty: false,
    });
    try {
      await container.start();
      const result = await container.wait();
      expect(result.StatusCode).toBe(3);
      const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
      const out: string[] = [];
      const err: string[] = [];
      // Demultiplex with dockerode's own parser, as its users do.
      const { PassThrough } = await import('node:stream');
      const o = new PassThrough();
      const e = new PassThrough();
      o.on('data', (b: Buffer) => out.push(b.toString()));
      e.on('data', (b: Buffer) => err.push(b.toString()));
      const src = new PassThrough();
      docker.modem.demuxStream(src, o, e);
      src.end(logs);
      await new Promise((r) => setImmediate(r));
      expect(out.join('')).toBe('from-dockerode\n');
      expect(err.join('')).toBe('to-stderr\n');
      const info = await container.inspect();
      expect(info.State.Status).toBe('exited');
      expect(info.State.ExitCode).toBe(3);
    } finally {
      await container.remove({ force: true });
    }
  });

  it('the docker.run() helper (TTY, non-hijacked attach) collects the output', async () => {
    const { PassThrough } = await import('node:stream');
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (b: Buffer) => chunks.push(b));
    const [result, container] = (await docker.run('busybox', ['echo', 'run-helper'], sink)) as [
      { StatusCode: number },
      Docker.Container,
    ];
    expect(result.StatusCode).toBe(0);
    expect(Buffer.concat(chunks).toString()).toContain('run-helper');
    await container.remove({ force: true });
  });

  it('lists containers and images', async () => {
    const images = await docker.listImages();
    expect(images.some((i) => i.RepoTags?.includes('busybox:latest'))).toBe(true);
    expect(Array.isArray(await docker.listContainers({ all: true }))).toBe(true);
  });
});
