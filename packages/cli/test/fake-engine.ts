/**
 * A tiny stand-in Docker Engine API on a unix socket, for driving the built CLI in tests. It
 * records every request and plays the daemon's side of the flows in shared/docker-api/CLI-FLOWS.md:
 * ping headers, hijacked attach/exec with 101 and stdcopy frames, `wait` with headers flushed at
 * once, `--rm` removal, JSON errors with `Content-Type: application/json`.
 *
 * Fake containers run their Cmd as a script: `echo ARGS…` prints to stdout and exits 0,
 * `fail N` prints `failing` to stderr and exits N, `nosuchcmd` cannot start (exit 127 path).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { encodeFrame } from '../src/client/stdcopy.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  upgrade: boolean;
}

interface FakeContainer {
  id: string;
  name: string;
  config: Record<string, unknown>;
  state: 'created' | 'running' | 'exited';
  exitCode: number;
  attach?: Duplex;
  /** The client half-closed the attach (stdin EOF or no stdin at all). */
  stdinClosed?: boolean;
  waiters: Array<{ condition: string; res: ServerResponse }>;
}

export interface FakeEngine {
  socketPath: string;
  requests: RecordedRequest[];
  /** Containers whose attach connection the client half-closed (sent FIN). */
  halfClosedAttaches: Set<string>;
  containers: Map<string, FakeContainer>;
  /** Adds a container directly (for list and exec tests). */
  seed(container: {
    id: string;
    name: string;
    cmd: string[];
    state: 'created' | 'running' | 'exited';
    exitCode?: number;
  }): void;
  close(): Promise<void>;
}

const IMAGE_LIST = [
  {
    Id: 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741',
    ParentId: '',
    RepoTags: ['busybox:latest'],
    RepoDigests: [],
    Created: 0,
    Size: 4_261_550,
    SharedSize: -1,
    Labels: null,
    Containers: -1,
  },
  {
    Id: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    ParentId: '',
    RepoTags: ['myimp:1'],
    RepoDigests: [],
    Created: 0,
    Size: 77_800_000,
    SharedSize: -1,
    Labels: null,
    Containers: -1,
  },
];

export const IMPORTED_ID = 'sha256:feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function error(res: ServerResponse, status: number, message: string): void {
  json(res, status, { message });
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

export async function startFakeEngine(
  socketPath: string,
  options: { createdAt: number },
): Promise<FakeEngine> {
  const requests: RecordedRequest[] = [];
  const containers = new Map<string, FakeContainer>();
  const halfClosedAttaches = new Set<string>();
  const execs = new Map<string, { containerId: string; cmd: string[]; exitCode: number | null }>();
  const sockets = new Set<Duplex>();

  const find = (ref: string) =>
    containers.get(ref) ?? [...containers.values()].find((c) => c.name === ref || c.id.startsWith(ref));

  const finishWaiters = (c: FakeContainer, conditions: string[]) => {
    c.waiters = c.waiters.filter((w) => {
      if (!conditions.includes(w.condition)) return true;
      w.res.end(`${JSON.stringify({ StatusCode: c.exitCode })}\n`);
      return false;
    });
  };

  const exit = (c: FakeContainer, code: number) => {
    c.state = 'exited';
    c.exitCode = code;
    finishWaiters(c, ['next-exit', 'not-running']);
    if ((c.config.HostConfig as { AutoRemove?: boolean } | undefined)?.AutoRemove) {
      containers.delete(c.id);
      finishWaiters(c, ['removed']);
    }
  };

  /** Runs the container's script: output on the attach stream, then exit (and --rm removal). */
  const run = (c: FakeContainer) => {
    const cmd = (c.config.Cmd as string[] | null) ?? [];
    const frames: Buffer[] = [];
    if (cmd[0] === 'echo') {
      frames.push(encodeFrame(1, `${cmd.slice(1).join(' ')}\n`));
      c.exitCode = 0;
    } else if (cmd[0] === 'fail') {
      frames.push(encodeFrame(2, 'failing\n'));
      c.exitCode = Number(cmd[1] ?? 1);
    } else if (cmd[0] === 'sleep') {
      return; // stays running
    } else if (cmd[0] === 'cat' && c.attach) {
      // Copies stdin to stdout until the client closes its side (stdin EOF), then exits 0.
      const attach = c.attach;
      attach.on('data', (data: Buffer) => attach.write(encodeFrame(1, data)));
      const finish = () => {
        attach.end();
        exit(c, 0);
      };
      if (c.stdinClosed) finish();
      else attach.once('end', finish);
      return;
    } else if (cmd[0] === 'sh' && c.config.Tty === true && c.attach) {
      // A pty-like shell: echoes keystrokes (Enter as CR LF), `q` exits 0.
      const attach = c.attach;
      attach.write('$ ');
      attach.on('data', (data: Buffer) => {
        for (const byte of data) {
          if (byte === 0x71) {
            attach.end('bye\r\n');
            exit(c, 0);
            return;
          }
          attach.write(byte === 0x0d ? '\r\n$ ' : Buffer.from([byte]));
        }
      });
      return;
    }
    if (c.attach) {
      for (const frame of frames) c.attach.write(c.config.Tty === true ? frame.subarray(8) : frame);
      c.attach.end();
    }
    exit(c, c.exitCode);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      upgrade: false,
    });
    res.setHeader('Api-Version', '1.50');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', 'Docker/0.0.0-fake (linux)');
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/_ping') {
      res.writeHead(200, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': req.method === 'HEAD' ? 0 : 2,
      });
      res.end(req.method === 'HEAD' ? undefined : 'OK');
      return;
    }
    const path = url.pathname.replace(/^\/v1\.\d+/, '');
    const q = url.searchParams;

    if (req.method === 'POST' && path === '/containers/create') {
      const config = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      if (config.Image === 'missing') return error(res, 404, 'No such image: missing:latest');
      const id = randomBytes(32).toString('hex');
      containers.set(id, {
        id,
        name: q.get('name') ?? 'fake_name',
        config,
        state: 'created',
        exitCode: 0,
        waiters: [],
      });
      return json(res, 201, { Id: id, Warnings: [] });
    }
    if (req.method === 'POST' && path === '/images/create') {
      if (q.get('fromImage')) {
        return error(
          res,
          404,
          `pull access denied for ${q.get('fromImage')}, repository does not exist or may require 'docker login'`,
        );
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ status: IMPORTED_ID })}\r\n`);
      return;
    }
    if (req.method === 'GET' && path === '/containers/json') {
      const list = [...containers.values()]
        .filter((c) => q.get('all') === '1' || c.state === 'running')
        .map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          Image: c.config.Image,
          ImageID: IMAGE_LIST[0]?.Id,
          Command: ((c.config.Cmd as string[] | null) ?? []).join(' '),
          Created: options.createdAt,
          Ports: [],
          State: c.state,
          Status: c.state === 'running' ? 'Up 5 hours' : `Exited (${c.exitCode}) 4 hours ago`,
        }));
      return json(res, 200, list);
    }
    if (req.method === 'GET' && path === '/images/json') {
      return json(
        res,
        200,
        IMAGE_LIST.map((i) => ({ ...i, Created: options.createdAt })),
      );
    }
    const inspect = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (inspect) {
      const m = inspect;
      const c = find(decodeURIComponent(m[1] as string));
      if (!c) return error(res, 404, `No such container: ${m[1]}`);
      return json(res, 200, {
        Id: c.id,
        Name: `/${c.name}`,
        State: { Status: c.state, Running: c.state === 'running', ExitCode: c.exitCode },
        Config: { ...c.config, Tty: c.config.Tty === true },
        HostConfig: c.config.HostConfig,
      });
    }
    const operation =
      /^\/containers\/([^/]+)\/(wait|start|kill|stop|logs|exec|resize)$/.exec(path) ??
      /^\/containers\/([^/]+)$/.exec(path);
    if (operation) {
      const m = operation;
      const c = find(decodeURIComponent(m[1] as string));
      if (!c) return error(res, 404, `No such container: ${m[1]}`);
      switch (m[2]) {
        case 'wait':
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.flushHeaders();
          c.waiters.push({ condition: q.get('condition') ?? 'not-running', res });
          if (c.state === 'exited') finishWaiters(c, ['not-running']);
          return;
        case 'start': {
          const cmd = (c.config.Cmd as string[] | null) ?? [];
          if (cmd[0] === 'nosuchcmd') {
            c.attach?.end();
            if ((c.config.HostConfig as { AutoRemove?: boolean }).AutoRemove) {
              containers.delete(c.id);
              finishWaiters(c, ['removed']);
            }
            return error(
              res,
              400,
              'failed to create task for container: exec: "nosuchcmd": executable file not found in $PATH: unknown',
            );
          }
          c.state = 'running';
          res.writeHead(204);
          res.end();
          setImmediate(() => {
            run(c);
            c.attach?.resume();
          });
          return;
        }
        case 'kill':
        case 'stop':
        case 'resize':
          res.writeHead(204);
          res.end();
          return;
        case 'logs':
          res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
          res.write(encodeFrame(1, 'log line 1\n'));
          res.end(encodeFrame(2, 'log error\n'));
          return;
        case 'exec': {
          const execBody = JSON.parse(body.toString('utf8')) as { Cmd: string[] };
          const id = randomBytes(32).toString('hex');
          execs.set(id, { containerId: c.id, cmd: execBody.Cmd, exitCode: null });
          return json(res, 201, { Id: id });
        }
        default:
          if (req.method === 'DELETE') {
            containers.delete(c.id);
            res.writeHead(204);
            res.end();
            return;
          }
      }
    }
    const execInspect = /^\/exec\/([^/]+)\/json$/.exec(path);
    if (execInspect) {
      const m = execInspect;
      const e = execs.get(m[1] as string);
      if (!e) return error(res, 404, `No such exec instance: ${m[1]}`);
      return json(res, 200, { ID: m[1], Running: false, ExitCode: e.exitCode, ContainerID: e.containerId });
    }
    return error(res, 404, 'page not found');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => error(res, 500, err.message));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/v1\.\d+/, '');
    const length = Number(req.headers['content-length'] ?? 0);
    const body = head.subarray(0, length);
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      upgrade: true,
    });
    const upgraded = (contentType: string) =>
      socket.write(
        `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
      );
    const attach = /^\/containers\/([^/]+)\/attach$/.exec(path);
    if (attach) {
      const m = attach;
      const c = find(m[1] as string);
      if (!c) {
        const text = JSON.stringify({ message: `No such container: ${m[1]}` });
        socket.end(
          `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
        );
        return;
      }
      upgraded(
        c.config.Tty === true
          ? 'application/vnd.docker.raw-stream'
          : 'application/vnd.docker.multiplexed-stream',
      );
      c.attach = socket;
      // Stdin sent before start is buffered until the container runs, as the daemon must.
      socket.pause();
      socket.on('end', () => {
        c.stdinClosed = true;
        halfClosedAttaches.add(c.id);
      });
      return;
    }
    const execStart = /^\/exec\/([^/]+)\/start$/.exec(path);
    if (execStart) {
      const m = execStart;
      const e = execs.get(m[1] as string);
      if (!e) {
        socket.destroy();
        return;
      }
      upgraded('application/vnd.docker.multiplexed-stream');
      const cmd = e.cmd;
      if (cmd[0] === 'echo') {
        socket.write(encodeFrame(1, `${cmd.slice(1).join(' ')}\n`));
        e.exitCode = 0;
      } else {
        socket.write(encodeFrame(2, 'failing\n'));
        e.exitCode = Number(cmd[1] ?? 1);
      }
      socket.end();
      return;
    }
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });

  return {
    socketPath,
    requests,
    halfClosedAttaches,
    containers,
    seed: ({ id, name, cmd, state, exitCode = 0 }) => {
      containers.set(id, {
        id,
        name,
        config: { Image: 'busybox', Cmd: cmd, HostConfig: { AutoRemove: false } },
        state,
        exitCode,
        waiters: [],
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
