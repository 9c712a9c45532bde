/**
 * The two ways a client can open an attach / exec-start stream, behind one interface:
 *
 * - `UpgradeConnection`: `Connection: Upgrade` + `Upgrade: tcp` (the docker CLI, dockerode with
 *   `hijack: true`). Node hands us the raw socket; we read the declared body from `head` and the
 *   socket, answer `101 UPGRADED` ourselves, and then the socket carries output one way and stdin
 *   the other. The client half-closes when it has no (more) stdin; that ends stdin, not the stream.
 * - `PlainConnection`: an ordinary POST (dockerode's default). We answer 200 and stream the output
 *   as an unchunked body that ends when the connection closes, as moby does after its hijack.
 *
 * `OutputSink` is the part the output pump needs; `ResponseSink` adapts a normal chunked response
 * (logs) to it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import {
  BODY_IDLE_TIMEOUT_MS,
  bodyIdleTimeout,
  bodyTooLarge,
  declaredContentLength,
  MAX_JSON_BODY_BYTES,
  readRequestBody,
} from './body.js';
import { ApiError } from './http-status.js';
import { type ApiLogger, formatRawError, formatRawResponse, sendEmpty, sendError } from './respond.js';

/** Where encoded output goes, with backpressure. */
export interface OutputSink {
  /** Writes bytes; false means wait for `onDrain` before writing more. */
  write(data: Buffer): boolean;
  onDrain(callback: () => void): void;
  /** Ends the output gracefully (all written bytes are delivered first). */
  end(): void;
  /** Calls back once if the client goes away before `end()`. */
  onClientGone(callback: () => void): void;
  readonly clientGone: boolean;
}

export interface StreamConnection extends OutputSink {
  /** True for `Upgrade: tcp` requests (101), false for plain POSTs (200). */
  readonly upgraded: boolean;
  /**
   * True when the request body itself is the stdin stream: dockerode's non-hijacked attach with
   * `stdin: true` sends stdin as a chunked body. Otherwise the body is options JSON.
   */
  readonly bodyIsStdin: boolean;
  /** True once a response head (stream, empty answer or error) has gone out. */
  readonly started: boolean;
  /** Reads the request body that precedes any stdin (bounded; 413 beyond the limit). */
  readBody(): Promise<Buffer>;
  /** The byte stream that carries stdin after the body, if the transport has one. */
  stdinSource(): Readable | null;
  /** Answers with an error; only before `begin`. */
  fail(err: unknown): void;
  /** Answers an empty 200 and closes (exec start with `Detach`); only before `begin`. */
  finishEmpty(): void;
  /** Sends the 101/200 head for a stream of `contentType`. */
  begin(contentType: string): void;
}

/** After we end our side, how long a client may keep its side open before we cut it. */
const HALF_CLOSE_GRACE_MS = 30_000;

export class UpgradeConnection implements StreamConnection {
  readonly upgraded = true;
  readonly bodyIsStdin = false;
  private gone = false;
  private ended = false;
  private headSent = false;
  private readonly goneCallbacks: Array<() => void> = [];

  constructor(
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private head: Buffer,
    private readonly baseHeaders: Record<string, string>,
    private readonly logger: ApiLogger,
  ) {
    socket.on('error', (err) => {
      logger.debug('hijacked connection error', { error: err.message });
      socket.destroy();
    });
    socket.on('close', () => {
      if (this.ended) return;
      this.gone = true;
      for (const callback of this.goneCallbacks.splice(0)) callback();
    });
  }

  get clientGone(): boolean {
    return this.gone;
  }

  get started(): boolean {
    return this.headSent;
  }

  onClientGone(callback: () => void): void {
    if (this.gone) callback();
    else this.goneCallbacks.push(callback);
  }

  readBody(): Promise<Buffer> {
    if (this.req.headers['transfer-encoding'] !== undefined) {
      return Promise.reject(
        new ApiError(400, 'a request body on a hijacked connection must have a Content-Length'),
      );
    }
    let length: number;
    try {
      length = declaredContentLength(this.req.headers) ?? 0;
    } catch (err) {
      return Promise.reject(err);
    }
    if (length > MAX_JSON_BODY_BYTES) return Promise.reject(bodyTooLarge(MAX_JSON_BODY_BYTES));

    const head = this.head;
    this.head = Buffer.alloc(0);
    if (head.length >= length) {
      // Anything after the body is early stdin (`run -i` sends it before `start`): put it back.
      if (head.length > length) this.socket.unshift(head.subarray(length));
      return Promise.resolve(head.subarray(0, length));
    }

    if (this.gone || this.socket.destroyed || this.socket.readableEnded) {
      return Promise.reject(new ApiError(400, 'connection closed before the request body was complete'));
    }
    return new Promise((resolve, reject) => {
      const chunks = [head];
      let total = head.length;
      let timer: NodeJS.Timeout | undefined;
      const armTimer = () => {
        clearTimeout(timer);
        // A client that declared a body and stalls must not hold the connection forever.
        timer = setTimeout(() => {
          cleanup();
          reject(bodyIdleTimeout());
        }, BODY_IDLE_TIMEOUT_MS);
        timer.unref();
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.socket.off('data', onData);
        this.socket.off('end', onEnd);
        this.socket.off('close', onEnd);
      };
      const onData = (chunk: Buffer) => {
        armTimer();
        chunks.push(chunk);
        total += chunk.length;
        if (total < length) return;
        cleanup();
        this.socket.pause();
        const all = Buffer.concat(chunks, total);
        if (all.length > length) this.socket.unshift(all.subarray(length));
        resolve(all.subarray(0, length));
      };
      const onEnd = () => {
        cleanup();
        reject(new ApiError(400, 'connection closed before the request body was complete'));
      };
      this.socket.on('data', onData);
      this.socket.on('end', onEnd);
      this.socket.on('close', onEnd);
      armTimer();
    });
  }

  stdinSource(): Readable {
    return this.socket;
  }

  fail(err: unknown): void {
    if (this.gone || this.ended) return;
    this.headSent = true;
    const { status, bytes } = formatRawError(err, this.baseHeaders);
    if (status >= 500)
      this.logger.error('hijack request failed', { error: err instanceof Error ? err.message : String(err) });
    this.socket.write(bytes);
    this.end();
  }

  finishEmpty(): void {
    if (this.gone || this.ended) return;
    this.headSent = true;
    this.socket.write(
      formatRawResponse(200, 'OK', { ...this.baseHeaders, 'Content-Length': 0, Connection: 'close' }),
    );
    this.end();
  }

  begin(contentType: string): void {
    this.headSent = true;
    // moby writes exactly this status line; the CLI only checks the 101.
    this.socket.write(
      formatRawResponse(101, 'UPGRADED', {
        'Content-Type': contentType,
        Connection: 'Upgrade',
        Upgrade: 'tcp',
        ...this.baseHeaders,
      }),
    );
  }

  write(data: Buffer): boolean {
    if (this.gone || this.ended) return true;
    return this.socket.write(data);
  }

  onDrain(callback: () => void): void {
    this.socket.once('drain', callback);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    // FIN after the last byte. The client may still be sending (stdin nobody reads any more):
    // keep draining so its FIN arrives, and cut it if it never does.
    this.socket.end();
    this.socket.resume();
    const timer = setTimeout(() => this.socket.destroy(), HALF_CLOSE_GRACE_MS);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  /** Cuts the connection at once (daemon shutdown); the stream sees the client as gone. */
  destroy(): void {
    this.socket.destroy();
  }
}

export class PlainConnection implements StreamConnection {
  readonly upgraded = false;
  readonly bodyIsStdin: boolean;
  private readonly sink: ResponseSink;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly logger: ApiLogger,
    private readonly context: string,
  ) {
    this.sink = new ResponseSink(res);
    this.bodyIsStdin =
      req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined;
  }

  get clientGone(): boolean {
    return this.sink.clientGone;
  }

  get started(): boolean {
    return this.res.headersSent;
  }

  onClientGone(callback: () => void): void {
    this.sink.onClientGone(callback);
  }

  readBody(): Promise<Buffer> {
    return readRequestBody(this.req);
  }

  stdinSource(): Readable | null {
    return this.bodyIsStdin ? this.req : null;
  }

  fail(err: unknown): void {
    sendError(this.res, err, this.logger, this.context);
  }

  finishEmpty(): void {
    sendEmpty(this.res, 200);
  }

  begin(contentType: string): void {
    // Like moby after its hijack: no chunking, the body ends when the connection closes.
    this.res.removeHeader('Transfer-Encoding');
    this.res.writeHead(200, { 'Content-Type': contentType, Connection: 'close' });
    this.res.flushHeaders();
  }

  write(data: Buffer): boolean {
    return this.sink.write(data);
  }

  onDrain(callback: () => void): void {
    this.sink.onDrain(callback);
  }

  end(): void {
    this.sink.end();
  }
}

/** A normal streaming response (chunked) as an OutputSink. */
export class ResponseSink implements OutputSink {
  private gone = false;
  private readonly goneCallbacks: Array<() => void> = [];

  constructor(private readonly res: ServerResponse) {
    res.on('close', () => {
      if (res.writableFinished) return;
      this.gone = true;
      for (const callback of this.goneCallbacks.splice(0)) callback();
    });
  }

  get clientGone(): boolean {
    return this.gone;
  }

  onClientGone(callback: () => void): void {
    if (this.gone) callback();
    else this.goneCallbacks.push(callback);
  }

  write(data: Buffer): boolean {
    if (this.gone || this.res.writableEnded) return true;
    return this.res.write(data);
  }

  onDrain(callback: () => void): void {
    this.res.once('drain', callback);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
