/**
 * extractLayer's `worker: true`, the main thread's side: starts one worker thread per extraction
 * (extract-worker.ts), streams the tar's bytes to it, and settles with what it reports. The
 * worker does the whole extraction (decompression included) with synchronous fs calls; nothing
 * stays running once the extraction is over, so an idle daemon keeps no thread or heap for it.
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

/** The worker's `workerData`. */
export interface ExtractWorkerData {
  root: string;
  whiteouts: WhiteoutMode;
  /** The process's umask (a worker thread cannot read it). */
  umask: number | null;
  /** The file the worker reads the tar from, as `grown` messages say; null: `data` messages. */
  file: string | null;
}

/**
 * What the main thread posts: input bytes, the end of input, or its failure; or, when the worker
 * reads a file, how much of it is written and whether that is all.
 */
export type ToExtractWorker =
  | { type: 'data'; buffer: ArrayBuffer; length: number }
  | { type: 'end' }
  | { type: 'abort'; message: string }
  | { type: 'grown'; written: number; complete: boolean };

/** What the worker posts: input taken (room for more), then exactly one outcome. */
export type FromExtractWorker =
  | { type: 'consumed'; bytes: number }
  | { type: 'done'; result: ExtractedLayer }
  | { type: 'failed'; kind: ErrorKind; message: string };

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
 * Extracts `tar` into `root` in a new worker thread started from `url`. Settles only after the
 * thread has stopped, so nothing writes into `root` anymore when the caller cleans up after a
 * failure. Failures are the TsdockerErrors the extraction raised (kind and message); `tar` is
 * destroyed in every case, as extractLayer does.
 */
export function extractInWorker(
  url: URL,
  root: string,
  tar: Readable,
  opts: { whiteouts?: WhiteoutMode; umask: number | null },
): Promise<ExtractedLayer> {
  const file = followedFile(tar);
  return new Promise((resolve, reject) => {
    const workerData: ExtractWorkerData = {
      root,
      whiteouts: opts.whiteouts ?? 'apply',
      umask: opts.umask,
      file: file?.path ?? null,
    };
    let worker: Worker;
    try {
      worker = new Worker(url, { workerData });
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
      tar.off('data', onData);
      tar.destroy();
      // terminate() resolves once the thread has exited: it writes nothing after that.
      const report = () => ('result' in outcome ? resolve(outcome.result) : reject(outcome.error));
      worker.terminate().then(report, report);
    };

    let batch: Uint8Array | null = null;
    let filled = 0;
    let inFlight = 0;
    const flush = () => {
      if (batch === null || filled === 0) return;
      const buffer = batch.buffer as ArrayBuffer;
      post({ type: 'data', buffer, length: filled }, [buffer]);
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
    worker.on('message', (message: FromExtractWorker) => {
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
    });
    worker.on('error', (err) => {
      settle({ error: internal(`layer extraction worker failed: ${err.message}`, err) });
    });
    worker.on('exit', (code) => {
      settle({ error: internal(`layer extraction worker exited (code ${code}) before it finished`) });
    });

    if (file) {
      // The worker reads the file; `tar` is only destroyed at the end (never read).
      unwatch = file.watch((growth) => {
        if (growth.state === 'failed')
          post({ type: 'abort', message: growth.error?.message ?? 'the input failed' });
        else post({ type: 'grown', written: growth.written, complete: growth.state === 'complete' });
      });
      // Destroyed by its owner (a load that stopped this layer): the extraction fails as it would.
      tar.on('error', () => {}); // reported by the close below
      tar.once('close', () => {
        if (!settled) post({ type: 'abort', message: 'the input was closed' });
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
        post({ type: 'abort', message: err.message });
        return;
      }
      flush();
      post({ type: 'end' });
    });
  });
}
