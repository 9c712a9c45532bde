/**
 * extractLayer's `worker: true`, the main thread's side: runs each extraction in a worker thread
 * (extract-worker.ts), streams the tar's bytes to it, and settles with what it reports. The
 * worker does the whole extraction (decompression included) with synchronous fs calls.
 *
 * Workers are reused: a new one costs ~60 ms (a Node environment, the module, a cold JIT), which
 * was most of the time of a load of small layers. A worker whose extraction succeeded waits for
 * the next one for IDLE_WORKER_MS, then stops, so an idle daemon still keeps no thread or heap
 * for it; one whose extraction failed is stopped at once (nothing may write into the layer once
 * the caller cleans up). Every message carries its extraction's number: a finished extraction's
 * late messages are dropped on both sides.
 *
 * The bytes go in batches of 1 MiB, copied into ArrayBuffers that are transferred, not cloned
 * (Node's stream chunks are often slices of a shared pool, which would be copied whole). At most
 * MAX_IN_FLIGHT_BYTES are sent and not yet taken by the extraction: beyond that, the input is
 * paused.
 *
 * A stream that follows a file on disk (`GrowingFile.follow()`, a layer of `docker load` being
 * spooled) is not read here at all: the worker reads the file itself, told how far it has been
 * written. The layer's bytes then never pass through the main thread, whose heap would otherwise
 * collect every 1 MiB buffer of them.
 */
import { existsSync } from 'node:fs';
import { finished, type Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { type ErrorKind, internal, TsdockerError } from '../errors.js';
import type { ExtractedLayer, WhiteoutMode } from './extract.js';
import { followedFile } from './growing-file.js';

/** One extraction, as the `start` message gives it to the worker. */
export interface ExtractJob {
  root: string;
  whiteouts: WhiteoutMode;
  /** The process's umask (a worker thread cannot read it). */
  umask: number | null;
  /** The file the worker reads the tar from, as `grown` messages say; null: `data` messages. */
  file: string | null;
}

/**
 * What the main thread posts, each for extraction `job`: its start; then input bytes, the end of
 * input, or its failure; or, when the worker reads a file, how much of it is written and whether
 * that is all.
 */
export type ToExtractWorker =
  | { type: 'start'; job: number; extraction: ExtractJob }
  | { type: 'data'; job: number; buffer: ArrayBuffer; length: number }
  | { type: 'end'; job: number }
  | { type: 'abort'; job: number; message: string }
  | { type: 'grown'; job: number; written: number; complete: boolean };

/** What the worker posts for extraction `job`: input taken (room for more), then exactly one outcome. */
export type FromExtractWorker =
  | { type: 'consumed'; job: number; bytes: number }
  | { type: 'done'; job: number; result: ExtractedLayer }
  | { type: 'failed'; job: number; kind: ErrorKind; message: string };

/** How long a worker waits for the next extraction before it stops. */
export const IDLE_WORKER_MS = 1000;
/** Workers kept waiting at most (two extractions run at once during a load). */
const MAX_IDLE_WORKERS = 2;

interface IdleWorker {
  worker: Worker;
  href: string;
  timer: NodeJS.Timeout;
  /** Removes it from the pool if it dies while waiting. */
  onGone: () => void;
}

const idleWorkers: IdleWorker[] = [];
let lastJob = 0;

/** An idle worker started from `url`, or a new one. */
function takeWorker(url: URL): Worker {
  const index = idleWorkers.findIndex((w) => w.href === url.href);
  if (index === -1) return new Worker(url);
  const [idle] = idleWorkers.splice(index, 1) as [IdleWorker];
  clearTimeout(idle.timer);
  idle.worker.off('exit', idle.onGone).off('error', idle.onGone);
  idle.worker.ref();
  return idle.worker;
}

/** Keeps `worker` (whose extraction succeeded) for the next extraction, or stops it. */
function keepWorker(url: URL, worker: Worker): void {
  if (idleWorkers.length >= MAX_IDLE_WORKERS) {
    void worker.terminate();
    return;
  }
  const idle: IdleWorker = {
    worker,
    href: url.href,
    timer: setTimeout(() => {
      forget();
      void worker.terminate();
    }, IDLE_WORKER_MS),
    onGone: () => forget(),
  };
  const forget = () => {
    const index = idleWorkers.indexOf(idle);
    if (index !== -1) idleWorkers.splice(index, 1);
    clearTimeout(idle.timer);
  };
  idle.timer.unref();
  // A waiting worker keeps neither the process nor an unhandled error alive.
  worker.unref();
  worker.once('exit', idle.onGone).once('error', idle.onGone);
  idleWorkers.push(idle);
}

/**
 * Stops the extraction workers waiting for work now (they stop by themselves after
 * IDLE_WORKER_MS, and never keep the process alive meanwhile).
 */
export async function stopIdleExtractionWorkers(): Promise<void> {
  const workers = idleWorkers.splice(0);
  for (const idle of workers) clearTimeout(idle.timer);
  await Promise.all(workers.map((idle) => idle.worker.terminate()));
}

const BATCH_BYTES = 1024 * 1024;
const MAX_IN_FLIGHT_BYTES = 8 * BATCH_BYTES;

let workerUrl: URL | null | undefined;

/**
 * Where the built worker is, or null when there is none: core runs from its TypeScript sources
 * (its own tests), or was bundled into something that left the worker file behind.
 */
export function extractWorkerUrl(): URL | null {
  workerUrl ??= findWorker();
  return workerUrl;
}

function findWorker(): URL | null {
  const here = new URL(import.meta.url);
  if (here.protocol !== 'file:' || !here.pathname.endsWith('.js')) return null;
  // tsup puts the worker entry at dist/archive/extract-worker.js and this code in a chunk in
  // dist/; compiled file by file, it would be beside this one.
  for (const candidate of ['./archive/extract-worker.js', './extract-worker.js']) {
    const url = new URL(candidate, here);
    if (existsSync(url)) return url;
  }
  return null;
}

/**
 * Extracts `tar` into `root` in a worker thread started from `url` (an idle one if there is one).
 * Settles with a failure only after the thread has stopped, so nothing writes into `root` anymore
 * when the caller cleans up. Failures are the TsdockerErrors the extraction raised (kind and
 * message); `tar` is destroyed in every case, as extractLayer does.
 */
export function extractInWorker(
  url: URL,
  root: string,
  tar: Readable,
  opts: { whiteouts?: WhiteoutMode; umask: number | null },
): Promise<ExtractedLayer> {
  const file = followedFile(tar);
  const job = ++lastJob;
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = takeWorker(url);
    } catch (err) {
      tar.destroy();
      reject(internal(`starting the layer extraction worker: ${(err as Error).message}`, err));
      return;
    }
    const post = (message: ToExtractWorker, transfer?: ArrayBuffer[]) =>
      worker.postMessage(message, transfer);

    let settled = false;
    let unwatch = () => {};
    const settle = (outcome: { result: ExtractedLayer } | { error: unknown }) => {
      if (settled) return;
      settled = true;
      unwatch();
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      tar.off('data', onData);
      tar.destroy();
      if ('result' in outcome) {
        // The worker wrote everything before it said so: it can take the next extraction.
        keepWorker(url, worker);
        resolve(outcome.result);
        return;
      }
      // terminate() resolves once the thread has exited: it writes nothing after that.
      const report = () => reject(outcome.error);
      worker.terminate().then(report, report);
    };

    let batch: Uint8Array | null = null;
    let filled = 0;
    let inFlight = 0;
    const flush = () => {
      if (batch === null || filled === 0) return;
      const buffer = batch.buffer as ArrayBuffer;
      post({ type: 'data', job, buffer, length: filled }, [buffer]);
      inFlight += filled;
      batch = null;
      filled = 0;
    };
    const onData = (chunk: Buffer) => {
      for (let offset = 0; offset < chunk.length; ) {
        batch ??= new Uint8Array(BATCH_BYTES);
        const n = Math.min(chunk.length - offset, BATCH_BYTES - filled);
        batch.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === BATCH_BYTES) flush();
      }
      if (inFlight >= MAX_IN_FLIGHT_BYTES) tar.pause();
    };
    const onMessage = (message: FromExtractWorker) => {
      if (message.job !== job) return; // an earlier extraction's, late
      switch (message.type) {
        case 'consumed':
          inFlight -= message.bytes;
          if (!settled && inFlight < MAX_IN_FLIGHT_BYTES && tar.isPaused()) tar.resume();
          break;
        case 'done':
          settle({ result: message.result });
          break;
        case 'failed':
          settle({ error: new TsdockerError(message.kind, message.message) });
          break;
      }
    };
    const onError = (err: Error) => {
      settle({ error: internal(`layer extraction worker failed: ${err.message}`, err) });
    };
    const onExit = (code: number) => {
      settle({ error: internal(`layer extraction worker exited (code ${code}) before it finished`) });
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    post({
      type: 'start',
      job,
      extraction: { root, whiteouts: opts.whiteouts ?? 'apply', umask: opts.umask, file: file?.path ?? null },
    });

    if (file) {
      // The worker reads the file; `tar` is only destroyed at the end (never read).
      unwatch = file.watch((growth) => {
        if (growth.state === 'failed')
          post({ type: 'abort', job, message: growth.error?.message ?? 'the input failed' });
        else post({ type: 'grown', job, written: growth.written, complete: growth.state === 'complete' });
      });
      // Destroyed by its owner (a load that stopped this layer): the extraction fails as it would.
      tar.on('error', () => {}); // reported by the close below
      tar.once('close', () => {
        if (!settled) post({ type: 'abort', job, message: 'the input was closed' });
      });
      return;
    }
    tar.on('data', onData);
    tar.resume(); // even if it was paused before: the extraction reads it whatever its state
    // Also listens for 'error' (so a client hanging up is never an unhandled error), reports a
    // stream closed before its end, and calls back for a stream that had ended already. On an
    // error the worker fails with it, as an in-thread extraction would.
    finished(tar, (err) => {
      if (settled) return;
      if (err) {
        post({ type: 'abort', job, message: err.message });
        return;
      }
      flush();
      post({ type: 'end', job });
    });
  });
}
