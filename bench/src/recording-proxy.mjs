/**
 * A unix-socket HTTP proxy that sits between the docker CLI and a daemon and timestamps every
 * request: when it arrived, when the daemon's response headers came back, and when the response
 * (or, for hijacked attach/exec streams, the raw stream) ended. This is how the bench sees where
 * a `docker run --rm` spends its time from the outside, for both daemons alike. The proxy adds a
 * fraction of a millisecond per request; the timing model reports differences, not absolutes.
 */
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * @typedef {object} RequestRecord
 * @property {string} method
 * @property {string} path      without the /vX.Y prefix or query
 * @property {string} url
 * @property {number} start     request head received
 * @property {number} head      response head received from the daemon
 * @property {number} end       response body (or hijacked stream) ended
 * @property {number} status
 * @property {boolean} hijacked
 */

/** /v1.50/containers/abc/start?x=1 → /containers/{id}/start. @param {string} url */
export function routeOf(url) {
  const path = url.split('?')[0].replace(/^\/v\d+\.\d+/, '');
  return path.replace(/^\/(containers|exec)\/(?!(?:create|json|prune)$)[^/]+/, '/$1/{id}');
}

export class RecordingProxy {
  /** @param {string} listenPath @param {string} upstreamPath */
  constructor(listenPath, upstreamPath) {
    this.listenPath = listenPath;
    this.upstreamPath = upstreamPath;
    /** @type {RequestRecord[]} */
    this.records = [];
    this.server = createServer({ requestTimeout: 0, headersTimeout: 0 }, (req, res) =>
      this.forward(req, res),
    );
    this.server.on('upgrade', (req, socket, head) =>
      this.hijack(req, /** @type {import('node:net').Socket} */ (socket), head),
    );
    /** @type {Set<import('node:net').Socket>} */
    this.sockets = new Set();
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listenPath, () => resolve(undefined));
    });
  }

  close() {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve(undefined)));
  }

  /** Takes the records so far and starts a fresh list. */
  take() {
    const out = this.records;
    this.records = [];
    return out;
  }

  /** @param {import('node:http').IncomingMessage} req @param {boolean} hijacked */
  newRecord(req, hijacked) {
    /** @type {RequestRecord} */
    const rec = {
      method: req.method ?? '',
      url: req.url ?? '',
      path: routeOf(req.url ?? ''),
      start: performance.now(),
      head: Number.NaN,
      end: Number.NaN,
      status: 0,
      hijacked,
    };
    this.records.push(rec);
    return rec;
  }

  /** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
  forward(req, res) {
    const rec = this.newRecord(req, false);
    const up = request(
      { socketPath: this.upstreamPath, method: req.method, path: req.url, headers: req.headers },
      (ures) => {
        rec.head = performance.now();
        rec.status = ures.statusCode ?? 0;
        res.writeHead(ures.statusCode ?? 502, ures.statusMessage, ures.headers);
        res.flushHeaders(); // `wait` answers with headers first and the body much later
        ures.on('data', (chunk) => res.write(chunk));
        ures.on('end', () => {
          rec.end = performance.now();
          res.end();
        });
        ures.on('error', () => res.destroy());
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  }

  /**
   * Attach and exec start: the request head goes to the daemon verbatim, then bytes are copied
   * both ways; half-closes are passed on (the CLI shuts its write side right after the 101).
   * @param {import('node:http').IncomingMessage} req @param {import('node:net').Socket} socket @param {Buffer} head
   */
  hijack(req, socket, head) {
    const rec = this.newRecord(req, true);
    const up = connect({ path: this.upstreamPath, allowHalfOpen: true });
    let lines = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    up.write(`${lines}\r\n`);
    if (head.length) up.write(head);
    up.once('data', (chunk) => {
      rec.head = performance.now();
      rec.status = Number(chunk.toString('latin1', 0, 16).split(' ')[1]) || 0;
    });
    up.on('data', (chunk) => socket.write(chunk));
    up.on('end', () => {
      rec.end = performance.now();
      socket.end();
    });
    socket.on('data', (chunk) => up.write(chunk));
    socket.on('end', () => up.end());
    const destroyBoth = () => {
      socket.destroy();
      up.destroy();
    };
    up.on('error', destroyBoth);
    socket.on('error', destroyBoth);
  }
}
