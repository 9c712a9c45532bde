/** `@tsdocker/core` as a library: a Daemon with drivers given in code, no config file, no socket. */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon, type OutputChunk, parseDaemonConfig } from '@tsdocker/core';
import native from '@tsdocker/execdriver-native';
import vfs from '@tsdocker/graphdriver-vfs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildBusyboxTar } from '../helpers/busybox-image.js';

let dir = '';
let daemon: Daemon | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsd-embed-'));
});
afterAll(async () => {
  await daemon?.shutdown();
  await rm(dir, { recursive: true, force: true });
});

it('runs a container in-process', async () => {
  daemon = await Daemon.start(
    parseDaemonConfig({ 'data-root': join(dir, 'data'), 'exec-root': join(dir, 'exec') }),
    {
      drivers: { graph: vfs, exec: native },
    },
  );
  await daemon.images.import({
    source: createReadStream(await buildBusyboxTar(dir)),
    repo: 'busybox',
    changes: [],
  });
  const { Id } = await daemon.containers.create({
    name: 'embedded',
    body: { Image: 'busybox', Cmd: ['echo', 'hi from a library'] },
  });
  const { result } = await daemon.containers.wait(Id, 'next-exit');
  await daemon.containers.start(Id);
  expect((await result).StatusCode).toBe(0);
  const logs = await daemon.containers.logs(Id, {
    follow: false,
    stdout: true,
    stderr: true,
    since: 0,
    until: 0,
    timestamps: false,
    tail: 'all',
    details: false,
  });
  let text = '';
  for await (const chunk of logs.output as AsyncIterable<OutputChunk>) text += chunk.data.toString();
  expect(text).toBe('hi from a library\n');
  await daemon.containers.remove(Id);
});
