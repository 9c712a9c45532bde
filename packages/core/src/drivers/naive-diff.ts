/**
 * The diff operations for graph drivers that only mount layers (moby's NaiveDiffDriver): they
 * work from `get`/`put` alone, by comparing directory trees and extracting tars. Slow for big
 * layers, but correct on any driver.
 */
import { Readable } from 'node:stream';
import { changesSize, computeChanges, exportChanges } from '../archive/changes.js';
import { extractLayer } from '../archive/extract.js';
import { packDirectory } from '../archive/pack.js';
import type { Change, CreateLayerOptions, DiffGraphDriver, GraphDriver } from './graph-driver.js';

const hasDiffOps = (driver: GraphDriver): driver is DiffGraphDriver =>
  typeof driver.diff === 'function' &&
  typeof driver.changes === 'function' &&
  typeof driver.applyDiff === 'function' &&
  typeof driver.diffSize === 'function';

/**
 * Returns `driver` with every missing diff operation filled in (its own ones are kept). A driver
 * that has them all is returned as is.
 */
export function withNaiveDiff(driver: GraphDriver): DiffGraphDriver {
  return hasDiffOps(driver) ? driver : new NaiveDiffDriver(driver);
}

/** Runs `use` on the mounted layer `id`, and puts it back whatever happens (the first error wins). */
async function withLayer<T>(driver: GraphDriver, id: string, use: (root: string) => Promise<T>): Promise<T> {
  const root = await driver.get(id);
  let result: T;
  try {
    result = await use(root);
  } catch (err) {
    await driver.put(id).catch(() => {});
    throw err;
  }
  await driver.put(id);
  return result;
}

/**
 * Passes `source` through and calls `release` once it is over: ended, failed or destroyed by the
 * reader. A failing `release` fails the stream.
 */
function releaseWhenDone(source: Readable, release: () => Promise<void>): Readable {
  const out = new Readable({
    read() {
      source.resume();
    },
    destroy(err, callback) {
      source.destroy();
      release().then(
        () => callback(err),
        (releaseErr: unknown) => callback(err ?? (releaseErr as Error)),
      );
    },
  });
  source.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) source.pause();
  });
  source.on('end', () => out.push(null));
  source.on('error', (err) => out.destroy(err));
  return out;
}

/** Delegates to the wrapped driver; methods are async so that a synchronous throw still rejects. */
class NaiveDiffDriver implements DiffGraphDriver {
  constructor(private readonly driver: GraphDriver) {}

  get name(): string {
    return this.driver.name;
  }

  async create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    return this.driver.create(id, parent, opts);
  }

  async createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    return this.driver.createReadWrite(id, parent, opts);
  }

  async remove(id: string): Promise<void> {
    return this.driver.remove(id);
  }

  async get(id: string): Promise<string> {
    return this.driver.get(id);
  }

  async put(id: string): Promise<void> {
    return this.driver.put(id);
  }

  async exists(id: string): Promise<boolean> {
    return this.driver.exists(id);
  }

  status(): Array<[string, string]> {
    return this.driver.status();
  }

  async cleanup(): Promise<void> {
    return this.driver.cleanup();
  }

  /**
   * A base layer is its whole tree; any other layer is its changes, with whiteouts. Layer `id`
   * stays mounted until the stream is over: read it to the end or destroy it.
   */
  async diff(id: string, parent: string | null): Promise<Readable> {
    if (this.driver.diff) return this.driver.diff(id, parent);
    const layerRoot = await this.driver.get(id);
    try {
      const tar =
        parent === null
          ? packDirectory(layerRoot)
          : exportChanges(
              layerRoot,
              await withLayer(this.driver, parent, (parentRoot) => computeChanges(layerRoot, parentRoot)),
            );
      return releaseWhenDone(tar, () => this.driver.put(id));
    } catch (err) {
      await this.driver.put(id).catch(() => {});
      throw err;
    }
  }

  async changes(id: string, parent: string | null): Promise<Change[]> {
    if (this.driver.changes) return this.driver.changes(id, parent);
    return withLayer(this.driver, id, (layerRoot) =>
      parent === null
        ? computeChanges(layerRoot, null)
        : withLayer(this.driver, parent, (parentRoot) => computeChanges(layerRoot, parentRoot)),
    );
  }

  /** Extracts the tar (plain or gzip) into layer `id`, whiteouts applied; returns the bytes written. */
  async applyDiff(id: string, parent: string | null, diff: Readable): Promise<number> {
    if (this.driver.applyDiff) return this.driver.applyDiff(id, parent, diff);
    return withLayer(this.driver, id, async (layerRoot) => {
      const { bytes } = await extractLayer(layerRoot, diff, { whiteouts: 'apply', worker: true });
      return bytes;
    });
  }

  async diffSize(id: string, parent: string | null): Promise<number> {
    if (this.driver.diffSize) return this.driver.diffSize(id, parent);
    const changes = await this.changes(id, parent);
    return withLayer(this.driver, id, (layerRoot) => changesSize(layerRoot, changes));
  }
}
