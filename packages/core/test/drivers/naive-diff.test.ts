import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Change, type GraphDriver, TsdockerError, withNaiveDiff } from '@tsdocker/core';
import { afterEach, describe, expect, it } from 'vitest';

/** A minimal driver over plain directories that records every get and put. */
class RecordingDriver implements GraphDriver {
  readonly name = 'recording';
  readonly calls: string[] = [];
  readonly held = new Map<string, number>();
  constructor(private readonly home: string) {}
  async create(id: string): Promise<void> {
    await mkdir(join(this.home, id));
  }
  createReadWrite = this.create;
  async remove(id: string): Promise<void> {
    await rm(join(this.home, id), { recursive: true, force: true });
  }
  async get(id: string): Promise<string> {
    this.calls.push(`get ${id}`);
    this.held.set(id, (this.held.get(id) ?? 0) + 1);
    return join(this.home, id);
  }
  async put(id: string): Promise<void> {
    this.calls.push(`put ${id}`);
    this.held.set(id, (this.held.get(id) ?? 0) - 1);
  }
  async exists(): Promise<boolean> {
    return true;
  }
  status(): Array<[string, string]> {
    return [['Recording', 'yes']];
  }
  async cleanup(): Promise<void> {}
  outstanding(): number {
    return [...this.held.values()].reduce((a, b) => a + b, 0);
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Resolves once the stream has closed (the layer is put back by then). */
const closed = (stream: Readable) =>
  stream.closed ? Promise.resolve() : new Promise<void>((resolve) => stream.once('close', () => resolve()));

describe('withNaiveDiff', () => {
  const homes: string[] = [];
  afterEach(async () => {
    await Promise.all(homes.splice(0).map((h) => rm(h, { recursive: true, force: true })));
  });
  async function setup() {
    const home = await mkdtemp(join(tmpdir(), 'tsdocker-naive-'));
    homes.push(home);
    const inner = new RecordingDriver(home);
    await inner.create('parent');
    await writeFile(join(home, 'parent', 'kept'), 'kept');
    await writeFile(join(home, 'parent', 'gone'), 'gone');
    await inner.create('child');
    await writeFile(join(home, 'child', 'kept'), 'kept');
    // Same content and time as the parent's: not a change.
    const time = new Date(1_600_000_000_000);
    await utimes(join(home, 'parent', 'kept'), time, time);
    await utimes(join(home, 'child', 'kept'), time, time);
    await writeFile(join(home, 'child', 'added'), 'added!');
    return { home, inner, driver: withNaiveDiff(inner) };
  }

  it('delegates the base operations', async () => {
    const { inner, driver } = await setup();
    expect(driver.name).toBe('recording');
    expect(driver.status()).toEqual([['Recording', 'yes']]);
    expect(await driver.get('parent')).toBe(await inner.get('parent'));
  });

  it('returns a driver that has every diff operation as it is', async () => {
    const { driver } = await setup();
    expect(withNaiveDiff(driver)).toBe(driver);
  });

  it("keeps a driver's own diff operations", async () => {
    const { inner } = await setup();
    const own: Change[] = [{ path: '/own', kind: 1 }];
    const partial = Object.assign(inner, { changes: async () => own });
    expect(await withNaiveDiff(partial).changes('child', 'parent')).toBe(own);
  });

  it('lists changes and sizes them, putting back every layer it got', async () => {
    const { inner, driver } = await setup();
    const changes = await driver.changes('child', 'parent');
    expect(changes).toContainEqual({ path: '/added', kind: 1 });
    expect(changes).toContainEqual({ path: '/gone', kind: 2 });
    expect(await driver.diffSize('child', 'parent')).toBe(6);
    expect(inner.outstanding()).toBe(0);
  });

  it('holds the layer until its diff stream is read to the end', async () => {
    const { inner, driver } = await setup();
    const tar = await driver.diff('child', 'parent');
    expect(inner.held.get('child')).toBe(1);
    expect(inner.held.get('parent')).toBe(0);
    await collect(tar);
    await closed(tar);
    expect(inner.outstanding()).toBe(0);
  });

  it('puts the layer back when the diff stream is destroyed unread', async () => {
    const { inner, driver } = await setup();
    const tar = await driver.diff('child', null);
    tar.destroy();
    await closed(tar);
    expect(inner.outstanding()).toBe(0);
  });

  it('applies a diff into the layer and puts it back, also when the diff is bad', async () => {
    const { home, inner, driver } = await setup();
    const tar = await driver.diff('child', 'parent');
    await inner.create('replay');
    await writeFile(join(home, 'replay', 'gone'), 'gone');
    expect(await driver.applyDiff('replay', 'parent', tar)).toBe(6);
    expect(await readFile(join(home, 'replay', 'added'), 'utf8')).toBe('added!');
    const err = await driver
      .applyDiff('replay', 'parent', Readable.from([Buffer.alloc(1024, 'x')]))
      .catch((e) => e);
    expect(TsdockerError.is(err, 'invalid-argument')).toBe(true);
    expect(inner.outstanding()).toBe(0);
  });
});
