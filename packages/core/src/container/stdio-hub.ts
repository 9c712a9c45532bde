/**
 * Connects a process's stdio to whoever is attached (and to the log). Attachments can be made
 * before the process starts (`docker run` attaches first): their stdin is buffered and delivered
 * once it runs, and their output ends when that run ends. One hub serves a container across
 * restarts, or a single exec.
 */
import { PassThrough, type Writable } from 'node:stream';
import type { ProcessHandle } from '../drivers/exec-driver.js';
import type { Attachment, OutputChunk } from '../services.js';

type OutputSink = (chunk: OutputChunk) => void;

class HubAttachment implements Attachment {
  readonly output = new PassThrough({ objectMode: true });
  readonly stdin: Writable | null;
  private detached = false;

  constructor(
    readonly tty: boolean,
    readonly wants: { stdout: boolean; stderr: boolean },
    stdin: Writable | null,
    private readonly onDetach: (a: HubAttachment) => void,
  ) {
    this.stdin = stdin;
  }

  deliver(chunk: OutputChunk): void {
    if (this.detached || !this.wants[chunk.stream]) return;
    this.output.write(chunk);
  }

  finish(): void {
    if (this.detached) return;
    this.detached = true;
    this.output.end();
  }

  detach(): void {
    if (this.detached) return;
    this.finish();
    this.onDetach(this);
  }
}

export class StdioHub {
  private readonly attachments = new Set<HubAttachment>();
  private readonly sinks = new Set<OutputSink>();
  /** Stdin for the current (or next) run; ended when a StdinOnce attacher closes its stdin. */
  private stdinSink = new PassThrough();

  constructor(
    private readonly tty: boolean,
    private readonly stdinOnce: boolean,
  ) {}

  attach(opts: { stdin: boolean; stdout: boolean; stderr: boolean }): Attachment {
    let stdin: Writable | null = null;
    if (opts.stdin) {
      const sink = this.stdinSink;
      const input = new PassThrough();
      input.on('data', (data: Buffer) => {
        if (!sink.writableEnded) sink.write(data);
      });
      input.on('end', () => {
        if (this.stdinOnce && !sink.writableEnded) sink.end();
      });
      stdin = input;
    }
    const a = new HubAttachment(this.tty, { stdout: opts.stdout, stderr: opts.stderr }, stdin, (x) =>
      this.attachments.delete(x),
    );
    this.attachments.add(a);
    return a;
  }

  /** Registers a consumer of every chunk (the log writer). */
  addSink(sink: OutputSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /** Wires a started process in: buffered stdin flows to it, its output to every attacher. */
  beginRun(handle: ProcessHandle): void {
    const sink = this.stdinSink;
    if (handle.stdin) {
      const procStdin = handle.stdin;
      procStdin.on('error', () => {
        /* the process closed its stdin; nothing to deliver to any more */
      });
      sink.pipe(procStdin);
    } else {
      sink.resume();
    }
    const forward = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      const chunk: OutputChunk = { stream, data };
      for (const s of this.sinks) s(chunk);
      for (const a of this.attachments) a.deliver(chunk);
    };
    handle.stdout.on('data', forward('stdout'));
    handle.stderr?.on('data', forward('stderr'));
  }

  /** The run is over and its output delivered: end every attachment, arm stdin for the next run. */
  endRun(): void {
    for (const a of this.attachments) a.finish();
    this.attachments.clear();
    this.stdinSink.unpipe();
    this.stdinSink.destroy();
    this.stdinSink = new PassThrough();
  }
}
