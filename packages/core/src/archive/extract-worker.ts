/**
 * The worker thread of extractLayer's `worker: true` (the main thread's side is
 * extract-in-worker.ts): runs one extraction at a time, as `start` messages ask, with synchronous
 * fs calls, and posts each outcome. Between extractions it waits for the next `start`; the main
 * thread stops it when it has waited long enough, or when an extraction failed. Messages of an
 * extraction that is over (or not this worker's) are dropped.
 * This is an entry of the build (dist/archive/extract-worker.js), started by file URL.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { TsdockerError } from '../errors.js';
import { extractLayerInThread } from './extract.js';
import { syncExtractFs } from './extract-fs.js';
import type { ExtractJob, FromExtractWorker, ToExtractWorker } from './extract-in-worker.js';

type StartMessage = Extract<ToExtractWorker, { type: 'start' }>;
type InputMessage = Exclude<ToExtractWorker, StartMessage>;

const port = parentPort!;
const post = (message: FromExtractWorker) => port.postMessage(message);

/** The extraction running now: its messages, and the reader waiting for the next one. */
interface Running {
  job: number;
  inbox: InputMessage[];
  waiting: ((message: InputMessage) => void) | null;
  /**
   * Closes what the extraction opened, once. Descriptors belong to the process, not the thread:
   * a reader left waiting when an extraction ends early would otherwise keep its file open.
   */
  cleanups: Array<() => void>;
}

let running: Running | null = null;
const starts: StartMessage[] = [];
let waitingForStart: ((message: StartMessage) => void) | null = null;

port.on('message', (message: ToExtractWorker) => {
  if (message.type === 'start') {
    const deliver = waitingForStart;
    waitingForStart = null;
    if (deliver) deliver(message);
    else starts.push(message);
    return;
  }
  const current = running;
  if (current === null || message.job !== current.job) return; // late, of an extraction that is over
  const deliver = current.waiting;
  current.waiting = null;
  if (deliver) deliver(message);
  else current.inbox.push(message);
});

const nextStart = () =>
  new Promise<StartMessage>((resolve) => {
    const queued = starts.shift();
    if (queued === undefined) waitingForStart = resolve;
    else resolve(queued);
  });

const nextMessage = (current: Running) =>
  new Promise<InputMessage>((resolve) => {
    const queued = current.inbox.shift();
    if (queued === undefined) current.waiting = resolve;
    else resolve(queued);
  });

/** The posted bytes; each batch counts as consumed (room for more) once the extraction takes it. */
async function* received(current: Running): AsyncGenerator<Buffer> {
  for (;;) {
    const message = await nextMessage(current);
    if (message.type === 'end') return;
    // The input failed on the main thread: the extraction fails as it would reading it there.
    if (message.type === 'abort') throw new Error(message.message);
    if (message.type !== 'data') continue;
    post({ type: 'consumed', job: current.job, bytes: message.length });
    yield Buffer.from(message.buffer, 0, message.length);
  }
}

/** Bytes per read of a file input. */
const FILE_READ_BYTES = 1024 * 1024;

/**
 * The bytes of the file `path` as it is written: reads what the main thread says is written, then
 * waits to hear of more, until it says the file is complete.
 */
async function* fromFile(current: Running, path: string): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  let closed = false;
  const closeFd = () => {
    if (closed) return;
    closed = true;
    closeSync(fd);
  };
  current.cleanups.push(closeFd);
  let offset = 0;
  let written = 0;
  let complete = false;
  const hear = (message: InputMessage) => {
    if (message.type === 'abort') throw new Error(message.message);
    if (message.type === 'grown') {
      written = Math.max(written, message.written);
      complete = message.complete;
    }
  };
  try {
    for (;;) {
      for (let queued = current.inbox.shift(); queued !== undefined; queued = current.inbox.shift())
        hear(queued);
      if (offset >= written) {
        if (complete) return;
        hear(await nextMessage(current));
        continue;
      }
      const buffer = Buffer.allocUnsafe(Math.min(written - offset, FILE_READ_BYTES));
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      if (n === 0) throw new Error(`${path} is shorter than was written to it`);
      offset += n;
      yield n === buffer.length ? buffer : buffer.subarray(0, n);
    }
  } finally {
    closeFd();
  }
}

async function extract(job: number, extraction: ExtractJob): Promise<FromExtractWorker> {
  const current: Running = { job, inbox: [], waiting: null, cleanups: [] };
  running = current;
  try {
    const input = extraction.file === null ? received(current) : fromFile(current, extraction.file);
    // Not object mode: its small high-water mark keeps one batch buffered ahead, not sixteen.
    const tar = Readable.from(input, { objectMode: false });
    const result = await extractLayerInThread(extraction.root, tar, {
      whiteouts: extraction.whiteouts,
      fs: syncExtractFs,
      umask: extraction.umask,
    });
    return { type: 'done', job, result };
  } catch (err) {
    return TsdockerError.is(err)
      ? { type: 'failed', job, kind: err.kind, message: err.message }
      : { type: 'failed', job, kind: 'internal', message: `layer extraction: ${(err as Error).message}` };
  } finally {
    // A reader still waiting (the extraction ended before its input did) waits forever, unheard.
    running = null;
    for (const cleanup of current.cleanups) cleanup();
  }
}

for (;;) {
  const start = await nextStart();
  post(await extract(start.job, start.extraction));
}
