/**
 * The worker thread of extractLayer's `worker: true` (the main thread's side is
 * extract-in-worker.ts): extracts the tar bytes the main thread posts into the root it was given,
 * with synchronous fs calls, then posts the outcome. The main thread terminates it after that.
 * This is an entry of the build (dist/archive/extract-worker.js), started by file URL.
 */
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
    post({ type: 'consumed', bytes: message.length });
    yield Buffer.from(message.buffer, 0, message.length);
  }
}

try {
  // Not object mode: its small high-water mark keeps one batch buffered ahead, not sixteen.
  const tar = Readable.from(received(), { objectMode: false });
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
