/**
 * A small Docker Engine API client on `node:http`: one connection per request (unix socket or
 * tcp), `/_ping` and version negotiation before the first call, Go-style query strings, and
 * docker's error wording. Responses are returned once their headers arrive, so callers can hold
 * a `wait` open while they start the container.
 */
import { type IncomingMessage, request } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { CliError } from '../cli-errors.js';
import type { DaemonHost } from '../host.js';
import { connectionErrorFrom } from './errors.js';
import { openHijackedConnection } from './hijack.js';
import { encodeQuery, type Query } from './query.js';
import { connectionOptions, displayUrl, errorFromResponse, readBody } from './transport.js';

/** The newest Engine API this client speaks. */
export const MAX_API_VERSION = '1.50';
/** `wait?condition=` (used by run/start) needs 1.30; older daemons are refused up front. */
export const MIN_API_VERSION = '1.30';
/** Docker's ping timeout. */
const PING_TIMEOUT_MS = 2000;

export interface SendOptions {
  query?: Query;
  /** A JSON body (sent with Content-Length and a trailing newline, like docker). */
  json?: unknown;
  /** A streamed body (sent chunked). */
  body?: Readable;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface PingResult {
  apiVersion?: string;
  osType?: string;
}

export function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}

/** Docker's rule: use min(ours, the daemon's); a daemon that names none is treated as 1.24. */
export function negotiateApiVersion(daemonVersion: string | undefined): string {
  const theirs = daemonVersion && /^\d+\.\d+$/.test(daemonVersion) ? daemonVersion : '1.24';
  return compareApiVersions(theirs, MAX_API_VERSION) < 0 ? theirs : MAX_API_VERSION;
}

export class EngineClient {
  readonly host: DaemonHost;
  private readonly pinnedVersion: string | undefined;
  private negotiated: Promise<string> | undefined;

  /** `apiVersion` pins the version like `DOCKER_API_VERSION` (no negotiation, but still a ping). */
  constructor(host: DaemonHost, options: { apiVersion?: string } = {}) {
    this.host = host;
    this.pinnedVersion = options.apiVersion;
  }

  /** The API version in use, negotiated with one ping on first use. */
  apiVersion(): Promise<string> {
    this.negotiated ??= this.negotiate();
    return this.negotiated;
  }

  private async negotiate(): Promise<string> {
    const ping = await this.ping();
    if (this.pinnedVersion) return this.pinnedVersion;
    // A ping that timed out leaves the version alone, as docker does.
    if (ping === null) return MAX_API_VERSION;
    const version = negotiateApiVersion(ping.apiVersion);
    if (compareApiVersions(version, MIN_API_VERSION) < 0) {
      throw new CliError(
        `the daemon at ${this.host.url} speaks Engine API ${version}, but tsdocker needs at least ${MIN_API_VERSION}`,
      );
    }
    return version;
  }

  /**
   * `HEAD /_ping`, falling back to `GET` when HEAD is refused (a 500 still counts as an answer).
   * Resolves null on timeout; rejects with a ConnectionError when nothing listens.
   */
  async ping(): Promise<PingResult | null> {
    const head = await this.pingOnce('HEAD');
    if (head === null || head.status === 200 || head.status === 500) return head?.result ?? null;
    const get = await this.pingOnce('GET');
    return get?.result ?? null;
  }

  private pingOnce(method: 'HEAD' | 'GET'): Promise<{ status: number; result: PingResult } | null> {
    return new Promise((resolve, reject) => {
      const base = connectionOptions(this.host);
      const req = request({ ...base, method, path: '/_ping' }, (res) => {
        res.resume();
        const header = (name: string) => {
          const v = res.headers[name];
          return typeof v === 'string' && v !== '' ? v : undefined;
        };
        resolve({
          status: res.statusCode ?? 0,
          result: { apiVersion: header('api-version'), osType: header('ostype') },
        });
      });
      req.setTimeout(PING_TIMEOUT_MS, () => {
        req.destroy();
        resolve(null);
      });
      req.once('error', (err: NodeJS.ErrnoException) => reject(connectionErrorFrom(err, this.host)));
      req.end();
    });
  }

  /** `/v1.50/<path>?<query>` with the negotiated version. */
  async versionedPath(path: string, query?: Query): Promise<string> {
    const version = await this.apiVersion();
    const qs = encodeQuery(query);
    return `/v${version}${path}${qs ? `?${qs}` : ''}`;
  }

  /**
   * Sends a request and resolves with the response as soon as its headers arrive. Statuses of
   * 400 and above reject with a DaemonError (anything below counts as success, 304 included).
   */
  async send(method: string, path: string, options: SendOptions = {}): Promise<IncomingMessage> {
    const fullPath = await this.versionedPath(path, options.query);
    const base = connectionOptions(this.host);
    const headers: Record<string, string> = {
      ...(base.headers as Record<string, string>),
      ...options.headers,
    };
    let payload: Buffer | undefined;
    if (options.json !== undefined) {
      payload = Buffer.from(`${JSON.stringify(options.json)}\n`);
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    } else if (options.body) {
      headers['Content-Type'] = options.contentType ?? 'text/plain';
      headers['Transfer-Encoding'] = 'chunked';
    } else if (method !== 'GET' && method !== 'HEAD') {
      headers['Content-Length'] = '0';
    }

    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ ...base, method, path: fullPath, headers, signal: options.signal }, resolve);
      req.once('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'AbortError') reject(err);
        else reject(connectionErrorFrom(err, this.host));
      });
      if (options.body) {
        const source = options.body;
        source.once('error', (err) => req.destroy(err));
        // An error answered before the upload finished stops the upload (a daemon may also send
        // its 200 headers early and keep reading, so only errors stop it).
        req.once('response', (res) => {
          if ((res.statusCode ?? 500) >= 400) source.unpipe(req);
        });
        source.pipe(req);
      } else {
        req.end(payload);
      }
    });
    if ((res.statusCode ?? 500) >= 400) throw await errorFromResponse(res, displayUrl(this.host, fullPath));
    return res;
  }

  /** Sends a request and parses its JSON answer (undefined for an empty body). */
  async json<T>(method: string, path: string, options: SendOptions = {}): Promise<T> {
    const res = await this.send(method, path, options);
    return parseJsonBody<T>(await readBody(res));
  }

  /** Sends a request whose answer carries nothing the CLI needs. */
  async call(method: string, path: string, options: SendOptions = {}): Promise<void> {
    const res = await this.send(method, path, options);
    await readBody(res);
  }

  /** Opens a hijacked (upgraded) connection for attach or exec start. */
  async hijack(
    method: string,
    path: string,
    options: { query?: Query; json?: unknown } = {},
  ): Promise<Socket> {
    const fullPath = await this.versionedPath(path, options.query);
    return openHijackedConnection(this.host, { method, path: fullPath, json: options.json });
  }
}

export function parseJsonBody<T>(body: Buffer): T {
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CliError(`Error reading the daemon's response: ${(err as Error).message}`);
  }
}
