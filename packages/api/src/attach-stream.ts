/**
 * Moving bytes between a container/exec and a client: output chunks (object-mode OutputChunk)
 * to an OutputSink with framing and backpressure, and client bytes to the process's stdin with
 * detach-key detection and half-close handling.
 */

import type { Readable, Writable } from 'node:stream';
import type { Attachment, OutputChunk } from '@tsdocker/core';
import { DetachKeyScanner } from './detach-keys.js';
import type { OutputSink, StreamConnection } from './hijack.js';
import type { ApiLogger } from './respond.js';
import { encodeOutputChunk, encodeStreamError } from './stdcopy.js';

export type PipeOutcome = 'ended' | 'client-gone';

/**
 * Copies `output` to `sink` until the output ends (then ends the sink) or the client goes away
 * (then stops reading; the caller decides what to release). A failing output is reported in-band.
 */
export function pipeOutput(
  output: Readable,
  tty: boolean,
  sink: OutputSink,
  logger: ApiLogger,
): Promise<PipeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: PipeOutcome) => {
      if (settled) return;
      settled = true;
      output.off('data', onData);
      output.off('end', onEnd);
      output.off('error', onError);
      if (outcome === 'ended') sink.end();
      resolve(outcome);
    };
    const onData = (chunk: OutputChunk) => {
      if (!sink.write(encodeOutputChunk(chunk, tty))) {
        output.pause();
        sink.onDrain(() => output.resume());
      }
    };
    const onEnd = () => settle('ended');
    const onError = (err: Error) => {
      logger.warn('output stream failed', { error: err.message });
      sink.write(encodeStreamError(err.message, tty));
      settle('ended');
    };
    output.on('data', onData);
    output.on('end', onEnd);
    output.on('error', onError);
    sink.onClientGone(() => settle('client-gone'));
  });
}

export interface StdinOptions {
  /** Where the bytes go; null means the client's bytes are read and dropped. */
  stdin: Writable | null;
  /** Detach sequence to watch for (TTY only, as moby); null to pass everything through. */
  detachKeys: Buffer | null;
  /** Called when the detach sequence completes. */
  onDetach: () => void;
  logger: ApiLogger;
}

/**
 * Feeds the client's bytes to stdin. The client's end-of-stream (half-close) ends stdin — it is
 * not a detach: output keeps flowing until the process is done. Returns a function that stops
 * forwarding (the stream is over) without ending stdin.
 */
export function pipeStdin(source: Readable, opts: StdinOptions): () => void {
  const { stdin, logger } = opts;
  const scanner = stdin && opts.detachKeys ? new DetachKeyScanner(opts.detachKeys) : null;
  let open = stdin !== null;

  if (stdin) {
    stdin.on('error', (err) => {
      // The process closed its stdin (or exited); drop further input rather than crash.
      logger.debug('stdin write failed', { error: err.message });
      open = false;
    });
  }

  source.on('data', (chunk: Buffer) => {
    if (!open || !stdin) return;
    let data = chunk;
    if (scanner) {
      const scanned = scanner.push(chunk);
      data = scanned.forward;
      if (scanned.detached) {
        if (data.length > 0) stdin.write(data);
        open = false;
        opts.onDetach();
        return;
      }
    }
    if (data.length > 0 && !stdin.write(data)) {
      source.pause();
      stdin.once('drain', () => source.resume());
    }
  });
  source.on('end', () => {
    if (!open || !stdin) return;
    open = false;
    stdin.end();
  });
  source.resume();
  return () => {
    open = false;
  };
}

/**
 * Runs a full attach/exec stream over `conn`: sends the head, wires stdin, copies output, and
 * releases the attachment when either side finishes.
 */
export async function serveAttachment(
  attachment: Attachment,
  conn: StreamConnection,
  opts: { contentType: string; useStdin: boolean; detachKeys: Buffer | null; logger: ApiLogger },
): Promise<void> {
  if (conn.clientGone) {
    attachment.detach();
    return;
  }
  conn.begin(opts.contentType);

  const source = conn.stdinSource();
  const stopStdin = source
    ? pipeStdin(source, {
        stdin: opts.useStdin ? attachment.stdin : null,
        detachKeys: attachment.tty ? opts.detachKeys : null,
        onDetach: () => attachment.detach(),
        logger: opts.logger,
      })
    : () => {};

  const outcome = await pipeOutput(attachment.output, attachment.tty, conn, opts.logger);
  stopStdin();
  if (outcome === 'client-gone') attachment.detach();
}
