/**
 * A stub Engine API daemon: a node:http server on a unix socket that answers every request at
 * once with the least the docker CLI accepts (the ping and its headers, a fresh id for a container
 * create, `{}` for anything else). Timing the CLI against it prices the CLI itself: the floor
 * under any daemon's figure for the same commands, which no daemon can get below with this CLI.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { DOCKER_CLI, runCommand } from './commands.mjs';
import { cliEnv } from './daemons/daemon.mjs';

/**
 * The CLI's own API version (docker 28.2), the one tsdocker advertises too (packages/api
 * version.ts): the CLI keeps it rather than negotiating down, as against tsdocker.
 */
const API_VERSION = '1.50';

/** moby sets these on every response; the CLI reads them from `/_ping`. */
const STANDARD_HEADERS = { 'Api-Version': API_VERSION, Ostype: 'linux', 'Docker-Experimental': 'false' };

const PING_HEADERS = {
  ...STANDARD_HEADERS,
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
  'Content-Type': 'text/plain; charset=utf-8',
};

export class StubDaemon {
  /** @param {string} root  a directory of its own (created) for the socket and the CLI config */
  constructor(root) {
    this.name = 'stub';
    this.root = root;
    this.socket = join(root, 'docker.sock');
    mkdirSync(join(root, 'cli-config'), { recursive: true });
    // The same environment the daemons' CLI gets, only DOCKER_HOST and DOCKER_CONFIG differ.
    this.env = cliEnv(`unix://${this.socket}`, join(root, 'cli-config'));
    this.server = createServer((req, res) => {
      // Read the body (create sends its config, load its archive) before answering, as a daemon must.
      req.resume();
      req.on('end', () => this.answer(req, res));
    });
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socket, () => resolve(undefined));
    });
  }

  /** Closes the server and its kept-alive connections, and removes the socket and the config. */
  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(() => resolve(undefined)));
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Runs the docker CLI against the stub. @param {string[]} args @param {Parameters<typeof runCommand>[2]} [opts] */
  docker(args, opts = {}) {
    return runCommand(DOCKER_CLI, args, { ...opts, env: this.env });
  }

  /** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
  answer(req, res) {
    const path = (req.url ?? '').split('?')[0].replace(/^\/v\d+\.\d+/, '');
    if (path === '/_ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      const ok = req.method === 'GET' ? 'OK' : '';
      res.writeHead(200, { ...PING_HEADERS, 'Content-Length': ok.length });
      res.end(ok);
      return;
    }
    const created = req.method === 'POST' && path === '/containers/create';
    const body = created ? { Id: randomBytes(32).toString('hex'), Warnings: [] } : {};
    sendJson(res, created ? 201 : 200, body);
  }
}

/** @param {import('node:http').ServerResponse} res @param {number} status @param {unknown} value */
function sendJson(res, status, value) {
  const body = Buffer.from(`${JSON.stringify(value)}\n`);
  res.writeHead(status, {
    ...STANDARD_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': body.length,
  });
  res.end(body);
}

/**
 * Starts a stub daemon under `root`, hands it to `fn`, and closes it (socket and dir removed)
 * whether `fn` succeeds or throws.
 * @template T
 * @param {string} root @param {(stub: StubDaemon) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withStubDaemon(root, fn) {
  const stub = new StubDaemon(root);
  try {
    await stub.listen();
    return await fn(stub);
  } finally {
    await stub.close();
  }
}
