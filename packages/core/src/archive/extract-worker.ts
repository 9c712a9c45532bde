/**
 * The worker thread of extractLayer's `worker: true` (the main thread's side is
 * extract-in-worker.ts): extracts the tar bytes the main thread posts into the root it was given,
 * with synchronous fs calls, then posts the outcome. The main thread terminates it after that.
 * This is an entry of the build (dist/archive/extract-worker.js), started by file URL.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { TsdockerError } from '../errors.js';
import { extractLayerInThread } from './extract.js';
import { syncExtractFs } from './extract-fs.js';
import type { ExtractWorkerData, FromExtractWorker, ToExtractWorker } from './extract-in-worker.js';

const port = parentPort!;
const data = workerData as ExtractWorkerData;
const post = (message: FromExtractWorker) => port.postMessage(message);

const inbox: ToExtractWorker[] = [];
let waiting: ((message: ToExtractWorker) => void) | null = null;
port.on('message', (message: ToExtractWorker) => {
  if (waiting === null) {
    inbox.push(message);
    return;
  }
  const deliver = waiting;
  waiting = null;
  deliver(message);
});
const nextMessage = () =>
  new Promise<ToExtractWorker>((resolve) => {
    const queued = inbox.shift();
    if (queued === undefined) waiting = resolve;
    else resolve(queued);
  });

/** The posted bytes; each batch counts as consumed (room for more) once the extraction takes it. */
async function* received(): AsyncGenerator<Buffer> {
  for (;;) {
    const message = await nextMessage();
    if (message.type === 'end') return;
    // The input failed on the main thread: the extraction fails as it would reading it there.
    if (message.type === 'abort') throw new Error(message.message);
    if (message.type !== 'data') continue;
    post({ type: 'consumed', bytes: message.length });
    yield Buffer.from(message.buffer, 0, message.length);
  }
}

/** Bytes per read of a file input. */
const FILE_READ_BYTES = 1024 * 1024;

/**
 * The bytes of the file `path` as it is written: reads what the main thread says is written, then
 * waits to hear of more, until it says the file is complete.
 */
async function* fromFile(path: string): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  let offset = 0;
  let written = 0;
  let complete = false;
  const hear = (message: ToExtractWorker) => {
    if (message.type === 'abort') throw new Error(message.message);
    if (message.type === 'grown') {
      written = Math.max(written, message.written);
      complete = message.complete;
    }
  };
  try {
    for (;;) {
      for (let queued = inbox.shift(); queued !== undefined; queued = inbox.shift()) hear(queued);
      if (offset >= written) {
        if (complete) return;
        hear(await nextMessage());
        continue;
      }
      const buffer = Buffer.allocUnsafe(Math.min(written - offset, FILE_READ_BYTES));
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      if (n === 0) throw new Error(`${path} is shorter than was written to it`);
      offset += n;
      yield n === buffer.length ? buffer : buffer.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

try {
  // Not object mode: its small high-water mark keeps one batch buffered ahead, not sixteen.
  const tar = Readable.from(data.file === null ? received() : fromFile(data.file), { objectMode: false });
  const result = await extractLayerInThread(data.root, tar, {
    whiteouts: data.whiteouts,
    fs: syncExtractFs,
    umask: data.umask,
  });
  post({ type: 'done', result });
} catch (err) {
  post(
    TsdockerError.is(err)
      ? { type: 'failed', kind: err.kind, message: err.message }
      : { type: 'failed', kind: 'internal', message: `layer extraction: ${(err as Error).message}` },
  );
}
