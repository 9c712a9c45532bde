/**
 * One fuzz exchange over a fresh unix-socket connection, with full control of the bytes: the
 * request is written in parts (with delays, for slow clients), then the client either waits for
 * the answer or hangs up. The response is parsed by hand (status, headers, body framed by
 * Content-Length, chunked encoding or connection close), because the requests are malformed on
 * purpose and Node's client would refuse to send them.
 */
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export interface WirePart {
  data: Buffer;
  /** Wait this long before writing the part (bounded by the generator). */
  delayMs: number;
}

export interface WirePlan {
  parts: WirePart[];
  /** Hang up (destroy) right after the last part instead of waiting for an answer. */
  hangUp: boolean;
  /** A HEAD request: the answer has no body whatever its headers say. */
  head: boolean;
}

export type Outcome =
  | {
      kind: 'response';
      status: number;
      headers: Map<string, string>;
      body: Buffer;
      /** The answer was a stream (101, or a 2xx body still open) that we cut after a while. */
      streamCut: boolean;
    }
  /** The server closed the connection without a single byte of answer. */
  | {
      kind: 'closed';
      error?: string;
      connected: boolean;
      /** We were still sending the request when the connection went. */
      sending: boolean;
    }
  /** No response head within the timeout. */
  | { kind: 'timeout' }
  /** We hung up on purpose. */
  | { kind: 'hung-up' };

interface Limits {
  /** How long to wait for a response head. */
  headTimeoutMs: number;
  /** How long to read an open-ended stream before cutting it. */
  streamReadMs: number;
}

interface ParsedHead {
  status: number;
  headers: Map<string, string>;
  bodyStart: number;
}

function parseHead(buffer: Buffer): ParsedHead | 'incomplete' | 'garbage' {
  const end = buffer.indexOf('\r\n\r\n');
  if (end === -1) return buffer.length > 64 * 1024 ? 'garbage' : 'incomplete';
  const [statusLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!match) return 'garbage';
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headers, bodyStart: end + 4 };
}

/** Decodes a chunked body; 'incomplete' until the terminating chunk has arrived. */
function decodeChunked(data: Buffer): Buffer | 'incomplete' | 'garbage' {
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return 'incomplete';
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size < 0) return 'garbage';
    if (size === 0) return data.indexOf('\r\n', lineEnd + 2) === -1 ? 'incomplete' : Buffer.concat(chunks);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return 'incomplete';
    chunks.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}

const WRITE_PIECE = 64 * 1024;

export function exchange(socketPath: string, plan: WirePlan, limits: Limits): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let buffer = Buffer.alloc(0);
    let head: ParsedHead | undefined;
    let settled = false;
    let streamTimer: NodeJS.Timeout | undefined;
    let connected = false;
    let sending = true;
    let socketError: string | undefined;

    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(headTimer);
      clearTimeout(streamTimer);
      socket.destroy();
      resolve(outcome);
    };
    const responseWith = (body: Buffer, streamCut: boolean) => {
      if (!head) return;
      finish({ kind: 'response', status: head.status, headers: head.headers, body, streamCut });
    };

    const headTimer = setTimeout(() => finish({ kind: 'timeout' }), limits.headTimeoutMs);

    /** Tries to complete the response from what has arrived; `closed` when the server is done. */
    const progress = (closed: boolean) => {
      if (settled) return;
      if (!head) {
        const parsed = parseHead(buffer);
        if (parsed === 'incomplete') {
          if (closed)
            finish(
              buffer.length === 0
                ? { kind: 'closed', error: socketError, connected, sending }
                : { kind: 'response', status: 0, headers: new Map(), body: buffer, streamCut: false },
            );
          return;
        }
        if (parsed === 'garbage') {
          finish({ kind: 'response', status: 0, headers: new Map(), body: buffer, streamCut: false });
          return;
        }
        if (parsed.status === 100) {
          // `Expect: 100-continue`: the real answer follows.
          buffer = buffer.subarray(parsed.bodyStart);
          progress(closed);
          return;
        }
        head = parsed;
        clearTimeout(headTimer);
        if (head.status === 101) {
          // A hijacked stream: read a little, then hang up early as a careless client would.
          streamTimer = setTimeout(
            () => responseWith(buffer.subarray(head?.bodyStart ?? 0), true),
            limits.streamReadMs,
          );
          return;
        }
      }
      const body = buffer.subarray(head.bodyStart);
      if (plan.head || head.status === 204 || head.status === 304) {
        responseWith(Buffer.alloc(0), false);
        return;
      }
      if ((head.headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
        const decoded = decodeChunked(body);
        if (decoded === 'garbage') responseWith(body, false);
        else if (decoded !== 'incomplete') responseWith(decoded, false);
        else if (closed) responseWith(body, false);
        else streamTimer ??= setTimeout(() => responseWith(body, true), limits.streamReadMs);
        return;
      }
      const length = head.headers.get('content-length');
      if (length !== undefined) {
        const wanted = Number(length);
        if (body.length >= wanted || closed) responseWith(body.subarray(0, wanted), false);
        else streamTimer ??= setTimeout(() => responseWith(body, true), limits.streamReadMs);
        return;
      }
      // No framing: the body ends with the connection (moby's streams after a plain POST).
      if (closed) responseWith(body, false);
      else
        streamTimer ??= setTimeout(
          () => responseWith(buffer.subarray(head?.bodyStart ?? 0), true),
          limits.streamReadMs,
        );
    };

    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      progress(false);
    });
    socket.on('end', () => progress(true));
    socket.on('close', () => progress(true));
    // EPIPE/ECONNRESET while we still write: the server answered early (413) or gave up on us.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      socketError ??= err.code ?? err.message;
      progress(true);
    });

    /** Writes in 64 KiB pieces and stops once an answer arrives: a server may answer before
     * reading a big body and then close, and writing on would only end in EPIPE. */
    const writeAll = async (data: Buffer): Promise<boolean> => {
      for (let at = 0; at < data.length; at += WRITE_PIECE) {
        // Let any answer that arrived be read first: a write into a closed socket fails with
        // EPIPE and takes the unread answer with it.
        if (at > 0) await new Promise((next) => setImmediate(next));
        if (settled || socket.destroyed || (at > 0 && buffer.length > 0)) return false;
        const piece = data.subarray(at, at + WRITE_PIECE);
        await new Promise<void>((done) => {
          if (socket.write(piece)) done();
          else socket.once('drain', done).once('close', done);
        });
      }
      return !settled && !socket.destroyed;
    };

    socket.once('connect', async () => {
      connected = true;
      for (const part of plan.parts) {
        if (part.delayMs > 0) await delay(part.delayMs);
        if (!(await writeAll(part.data))) return;
      }
      sending = false;
      if (plan.hangUp) {
        // Give the bytes a moment to leave, then vanish mid-request.
        setImmediate(() => finish({ kind: 'hung-up' }));
      }
    });
  });
}
