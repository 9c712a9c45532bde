/**
 * Test plumbing: a fake daemon served on a unix socket in a fresh temp dir, plain HTTP requests,
 * raw (hijacked) connections, and the real docker CLI pointed at the socket.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiServer, startApiServer } from '@tsdocker/api';
import { FakeDaemon } from './fake-daemon.js';

export interface TestServer {
  daemon: FakeDaemon;
  server: ApiServer;
  dir: string;
  socketPath: string;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tsdocker-api-test-'));
  const socketPath = join(dir, 'api.sock');
  const daemon = new FakeDaemon();
  let server: ApiServer;
  try {
    server = await startApiServer(daemon, { hosts: [`unix://${socketPath}`] });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    daemon,
    server,
    dir,
    socketPath,
    async close() {
      try {
        await server.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
}

export function request(
  socketPath: string,
  opts: { method?: string; path: string; headers?: Record<string, string | number>; body?: string | Buffer },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            text: body.toString(),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const jsonBody = (value: unknown) => ({
  headers: { 'Content-Type': 'application/json' },
  body: `${JSON.stringify(value)}\n`,
});

/** A raw connection for hijack tests: write bytes, read the response head, then the stream. */
export class RawConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static open(socketPath: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen: we shut down our side like the CLI does and keep reading.
      const socket = connect({ path: socketPath, allowHalfOpen: true });
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Half-close: FIN on our side, like the CLI without stdin. */
  halfClose(): void {
    this.socket.end();
  }

  /** Waits until `predicate(buffer)` holds or the server closes; returns the buffer. */
  async readUntil(predicate: (data: Buffer) => boolean): Promise<Buffer> {
    while (!predicate(this.buffer)) {
      if (this.ended) break;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.buffer;
  }

  /** Reads the response head; returns status, headers and the bytes after it. */
  async readHead(): Promise<{
    status: number;
    statusLine: string;
    headers: Map<string, string>;
    rest: Buffer;
  }> {
    const data = await this.readUntil((d) => d.includes('\r\n\r\n'));
    const end = data.indexOf('\r\n\r\n');
    if (end === -1) throw new Error(`no response head in ${JSON.stringify(data.toString())}`);
    const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    this.buffer = data.subarray(end + 4);
    return { status: Number(statusLine.split(' ')[1]), statusLine, headers, rest: this.buffer };
  }

  /** Everything until the server closes the stream. */
  async readToEnd(): Promise<Buffer> {
    return this.readUntil(() => false);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Formats an HTTP/1.1 request the way the Go client sends a hijack. */
export function hijackRequest(
  path: string,
  opts: { body?: string; contentType?: string; upgrade?: boolean } = {},
): string {
  const body = opts.body ?? '';
  const lines = [
    `POST ${path} HTTP/1.1`,
    'Host: api.moby.localhost',
    'User-Agent: tsdocker-test',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `Content-Type: ${opts.contentType ?? 'text/plain'}`,
  ];
  if (opts.upgrade !== false) lines.push('Connection: Upgrade', 'Upgrade: tcp');
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real docker CLI against `socketPath` with a private config dir. */
export function docker(
  socketPath: string,
  configDir: string,
  args: string[],
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, {
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: configDir,
        DOCKER_HOST: `unix://${socketPath}`,
        DOCKER_CONFIG: configDir,
        DOCKER_CLI_HINTS: 'false',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}
