/**
 * The fuzz generator: from the API's own route table and a seeded Rng, one malformed (or now and
 * then accidentally valid) request — method, path with hostile parameters, API version, query,
 * headers, body — and how it goes on the wire: chunked or not, broken chunking, truncated and
 * abandoned, dribbled slowly, a hijack that hangs up, a bad request line.
 */
import type { Rng } from './fuzz-rng.js';
import type { WirePart, WirePlan } from './raw-http.js';

export interface RouteInfo {
  method: string;
  path: string;
}

/** Names the generator may aim at: real objects (made deliberately by the test) and fakes. */
export interface Targets {
  containers: string[];
  images: string[];
  execs: string[];
}

export interface FuzzRequest {
  /** The route the request was built from, or undefined for a random path. */
  route?: RouteInfo;
  method: string;
  target: string;
  /** How the bytes go out (for the report). */
  transport: string;
  upgrade: boolean;
  /**
   * The declared body never arrives whole (broken chunking, a Content-Length larger than what is
   * sent): a server may rightly keep waiting for the rest, so silence is not a hang.
   */
  incompleteBody: boolean;
  plan: WirePlan;
  /** First bytes of the request, for the failure report. */
  preview: string;
}

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];
const ODD_METHODS = ['TRACE', 'CONNECT', 'FROB', 'get', 'P0ST', 'SEARCH', 'PROPFIND', ''];
const VERSIONS = ['1.24', '1.25', '1.30', '1.40', '1.41', '1.42', '1.44', '1.49', '1.50'];
const ODD_VERSIONS = ['0.1', '1.12', '1.23', '1.51', '9.99', '1.', '1.50.1', '01.050', '1.2147483648', '..'];

/** Strings that must never be more than a name to look up. */
const HOSTILE = [
  '..',
  '.',
  '../../../../etc/passwd',
  '/etc/shadow',
  '..%2f..%2fetc',
  'a/../../b',
  '%00',
  '\u0000',
  'x\u0000y',
  '\r\nX-Injected: 1',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '$(reboot)',
  '`id`',
  '*',
  '?',
  '#',
  ' ',
  '-',
  '--help',
  'sha256:',
  'sha256:zz',
  'sha512:abcd',
  `sha256:${'0'.repeat(64)}`,
  '0'.repeat(64),
  'f'.repeat(65),
  'A'.repeat(300),
  'b'.repeat(5000),
  'UPPER',
  'name:tag:tag',
  'name@',
  '@sha256:abc',
  'localhost:5000/x:y',
  '[::1]:5000/x',
  'é',
  '\u202egnp.exe',
  '😀',
  '\ud800',
];

const QUERY_KEYS = [
  'all',
  'size',
  'limit',
  'filters',
  'since',
  'before',
  'name',
  'platform',
  'ps_args',
  'stdout',
  'stderr',
  'follow',
  'timestamps',
  'tail',
  'until',
  'details',
  'h',
  'w',
  't',
  'signal',
  'condition',
  'stream',
  'logs',
  'stdin',
  'detachKeys',
  'force',
  'v',
  'link',
  'fromImage',
  'fromSrc',
  'repo',
  'tag',
  'changes',
  'message',
  'noprune',
  'digests',
  'filter',
  'checkpoint',
  'checkpoint-dir',
  'manifests',
  'shared-size',
  '__proto__',
];

const QUERY_VALUES = [
  '',
  '1',
  '0',
  'true',
  'false',
  'yes',
  'None',
  '-1',
  '-2147483649',
  '4294967296',
  '65536',
  '99999999999999999999',
  '1e10',
  'NaN',
  'Infinity',
  '0x10',
  '1.5',
  ' 1',
  'abc',
  '{}',
  '[]',
  'null',
  '{"status":["running"]}',
  '{"status":{"exited":true}}',
  '{"label":["a=b"],"id":[""]}',
  '{"__proto__":["x"]}',
  '{"status":[1]}',
  '{"status":"x"}',
  '{',
  'SIGKILL',
  'SIGINT',
  'KILL',
  '9',
  '0',
  '65',
  'SIGRTMIN+40',
  'SIGFOO',
  'not-running',
  'next-exit',
  'removed',
  'bogus',
  'ctrl-p,ctrl-q',
  'ctrl-',
  'a,b,c',
  'ctrl-@',
  'linux',
  'linux/amd64',
  'windows',
  'linux/arm64/v8/x',
  '../x',
  '-',
  'http://127.0.0.1:1/x.tar',
  'CMD ["sh"]',
  'ENV a=b',
  'FROM x',
  'USER \u0000',
  'aux',
  '-o pid,args',
  '-eo pid,comm',
  'ax --sort',
  '\u0000',
  '%zz',
  'é',
  'x'.repeat(3000),
  '1704067200.000000000',
  '-1704067200.5',
  '1.9999999999',
  'all',
];

const BODY_KEYS = [
  'Image',
  'Cmd',
  'Entrypoint',
  'Env',
  'Tty',
  'OpenStdin',
  'StdinOnce',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'User',
  'WorkingDir',
  'Labels',
  'Hostname',
  'StopSignal',
  'StopTimeout',
  'HostConfig',
  'Memory',
  'NanoCpus',
  'CpuPeriod',
  'CpuQuota',
  'Binds',
  'NetworkMode',
  'AutoRemove',
  'RestartPolicy',
  'ConsoleSize',
  'Privileged',
  'CapAdd',
  'LogConfig',
  'Dns',
  'ExtraHosts',
  'Detach',
  'DetachKeys',
  'NetworkingConfig',
  'EndpointsConfig',
  'Healthcheck',
  'ExposedPorts',
  'Volumes',
  'Name',
  '__proto__',
  'constructor',
  '',
];

/** Images the generator may put in a create body: none exists, so no create may succeed. */
const MISSING_IMAGES = ['no-such-image', 'missing:latest', `nope@sha256:${'a'.repeat(64)}`, 'UPPER', ''];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-tar',
  'application/json;;',
  '/',
  'application/JSON',
  'multipart/form-data; boundary=x',
  'garbage',
];

function randomNumber(rng: Rng): number {
  return rng.pick([
    0,
    -1,
    1,
    2 ** 31,
    2 ** 32,
    2 ** 53 + 1,
    -(2 ** 63),
    1e308,
    -0,
    0.5,
    6 * 1024 * 1024 - 1,
    1e-7,
  ]);
}

/** A random JSON value, at most `depth` levels deep, keyed with Engine API field names. */
export function randomJson(rng: Rng, depth: number): unknown {
  const kind = rng.int(0, depth > 0 ? 7 : 4);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return randomNumber(rng);
    case 3:
      return rng.chance(0.3) ? rng.pick(HOSTILE) : rng.string(40);
    case 4:
      return rng.pick(MISSING_IMAGES);
    case 5: {
      const items: unknown[] = [];
      for (let i = rng.int(0, 4); i > 0; i--) items.push(randomJson(rng, depth - 1));
      return items;
    }
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(0, 5); i > 0; i--) {
        const key = rng.chance(0.85) ? rng.pick(BODY_KEYS) : rng.string(12);
        Object.defineProperty(object, key, {
          value: randomJson(rng, depth - 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return object;
    }
  }
}

/** A create/exec body close to a real one, with one or two fields broken. */
function mutatedTemplate(rng: Rng): unknown {
  const body: Record<string, unknown> = {
    Image: rng.pick(MISSING_IMAGES),
    Cmd: ['sh', '-c', 'echo hi'],
    Env: ['A=1'],
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: { Memory: 0, NetworkMode: 'bridge', Binds: [], ConsoleSize: [24, 80] },
    Detach: false,
    ConsoleSize: [24, 80],
  };
  for (let i = rng.int(1, 3); i > 0; i--) {
    const key = rng.pick(BODY_KEYS);
    const hostConfig = body.HostConfig;
    const target =
      rng.chance(0.4) && typeof hostConfig === 'object' && hostConfig !== null && !Array.isArray(hostConfig)
        ? (hostConfig as Record<string, unknown>)
        : body;
    Object.defineProperty(target, key, {
      value: randomJson(rng, 2),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return body;
}

function deeplyNested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** The request body bytes, and what kind it is. */
function makeBody(rng: Rng): { bytes: Buffer; kind: string } {
  const roll = rng.next();
  if (roll < 0.2) return { bytes: Buffer.alloc(0), kind: 'empty' };
  if (roll < 0.45) return { bytes: Buffer.from(JSON.stringify(mutatedTemplate(rng))), kind: 'template' };
  if (roll < 0.7) return { bytes: Buffer.from(JSON.stringify(randomJson(rng, 4)) ?? 'null'), kind: 'json' };
  if (roll < 0.78) {
    const text = JSON.stringify(mutatedTemplate(rng));
    return { bytes: Buffer.from(text.slice(0, rng.int(0, text.length))), kind: 'cut-json' };
  }
  if (roll < 0.84) return { bytes: rng.bytes(rng.int(1, 600)), kind: 'garbage' };
  if (roll < 0.88) return { bytes: Buffer.from(deeplyNested(rng.pick([40, 1000, 100_000]))), kind: 'nested' };
  if (roll < 0.92)
    return { bytes: Buffer.from(`{"Cmd":["${'x'.repeat(rng.int(1000, 200_000))}"]}`), kind: 'long-string' };
  if (roll < 0.95) return { bytes: Buffer.from('{"Cmd":["a\\u0000b"],"Env":["X=\\u0000"]}'), kind: 'nul' };
  if (roll < 0.97) return { bytes: Buffer.from('{"a":1}{"b":2}'), kind: 'trailing' };
  return { bytes: Buffer.from('\ufeff{}'), kind: 'bom' };
}

/** Percent-encodes the UTF-8 bytes (lone surrogates too, unlike encodeURIComponent). */
function percentEncode(value: string, keep = ''): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out +=
      /[A-Za-z0-9_.~-]/.test(char) || keep.includes(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function encodeParam(rng: Rng, value: string, keepSlashes: boolean): string {
  if (rng.chance(0.1)) return value; // raw, possibly breaking the request line
  return percentEncode(value, keepSlashes ? '/:@' : '');
}

function paramValue(
  rng: Rng,
  route: RouteInfo,
  name: string,
  targets: Targets,
): { value: string; keepSlashes: boolean } {
  const real = route.path.startsWith('/exec/')
    ? targets.execs
    : route.path.startsWith('/images/')
      ? targets.images
      : route.path.startsWith('/containers/')
        ? targets.containers
        : [];
  if (real.length > 0 && rng.chance(0.45)) return { value: rng.pick(real), keepSlashes: true };
  if (name === 'anyPath')
    return { value: rng.pick(['x', 'containers/json', '_ping', 'a/b/c']), keepSlashes: true };
  if (rng.chance(0.5)) return { value: rng.pick(HOSTILE), keepSlashes: rng.chance(0.5) };
  if (rng.chance(0.5))
    return {
      value: rng
        .bytes(32)
        .toString('hex')
        .slice(0, rng.pick([12, 64])),
      keepSlashes: false,
    };
  return { value: rng.string(30), keepSlashes: false };
}

function buildPath(rng: Rng, route: RouteInfo | undefined, targets: Targets): string {
  if (!route) {
    return rng.pick([
      '/',
      '',
      '*',
      'http://evil.example/_ping',
      '/v1.50',
      '/v1.50/',
      '//_ping',
      '/containers',
      '/containers/',
      '/%',
      '/%zz/json',
      '/../../etc/passwd',
      `/${'a'.repeat(rng.int(100, 20_000))}`,
      '/images/json/extra',
      '/exec',
      '/info?',
      `/${rng.string(20)}`,
    ]);
  }
  let path = route.path.replace(/\{([a-zA-Z]+)\}/g, (_, name: string) => {
    const { value, keepSlashes } = paramValue(rng, route, name, targets);
    return encodeParam(rng, value, keepSlashes);
  });
  const versionRoll = rng.next();
  if (versionRoll < 0.35) path = `/v${rng.pick(VERSIONS)}${path}`;
  else if (versionRoll < 0.45) path = `/v${rng.pick(ODD_VERSIONS)}${path}`;
  return path;
}

/**
 * Stop timeouts stay short on stop/restart: a legitimately endless wait (`t=-1` with a signal
 * the container ignores) holds the container's lock and would only slow the run down.
 */
const STOP_TIMEOUTS = ['', '0', '1', '2', 'abc', '1.5', ' 1', '+1'];
const STOPPING_ROUTES = new Set(['POST /containers/{name}/stop', 'POST /containers/{name}/restart']);

function buildQuery(rng: Rng, routeKey: string): string {
  if (rng.chance(0.35)) return '';
  if (rng.chance(0.05))
    return `?${rng.pick(['%', '&&&', '=', 'a=%zz', '?', `a=${'%41'.repeat(2000)}`, 'filters=%7B'])}`;
  const parts: string[] = [];
  for (let i = rng.int(1, 5); i > 0; i--) {
    const key = rng.pick(QUERY_KEYS);
    let value = rng.chance(0.85) ? rng.pick(QUERY_VALUES) : rng.string(20);
    if (key === 't' && STOPPING_ROUTES.has(routeKey)) value = rng.pick(STOP_TIMEOUTS);
    parts.push(`${percentEncode(key)}=${rng.chance(0.9) ? percentEncode(value) : value}`);
  }
  return `?${parts.join('&')}`;
}

const STREAM_ROUTES = new Set(['POST /containers/{name}/attach', 'POST /exec/{id}/start']);

export function generateRequest(rng: Rng, routes: readonly RouteInfo[], targets: Targets): FuzzRequest {
  const route = rng.chance(0.88) ? rng.pick(routes) : undefined;
  const method =
    rng.chance(0.9) && route
      ? route.method
      : rng.chance(0.7)
        ? rng.pick(HTTP_METHODS)
        : rng.pick(ODD_METHODS);
  const routeKey = route ? `${route.method} ${route.path}` : '';
  const target = `${buildPath(rng, route, targets)}${buildQuery(rng, routeKey)}`;
  const upgrade = STREAM_ROUTES.has(routeKey) ? rng.chance(0.6) : rng.chance(0.04);

  const headers: string[] = [
    `Host: ${rng.chance(0.97) ? 'api.moby.localhost' : rng.pick(['', 'evil.example', 'a b'])}`,
  ];
  headers.push('User-Agent: tsdocker-fuzz');
  const body =
    route?.method === 'GET' && rng.chance(0.8) ? { bytes: Buffer.alloc(0), kind: 'none' } : makeBody(rng);
  if (rng.chance(0.85))
    headers.push(`Content-Type: ${rng.chance(0.75) ? 'application/json' : rng.pick(CONTENT_TYPES)}`);
  if (upgrade)
    headers.push(
      'Connection: Upgrade',
      `Upgrade: ${rng.chance(0.9) ? 'tcp' : rng.pick(['websocket', 'h2c', ''])}`,
    );
  if (rng.chance(0.03)) headers.push('Expect: 100-continue');
  if (rng.chance(0.02)) headers.push('Origin: https://evil.example');
  if (rng.chance(0.03)) headers.push(`X-Junk: ${rng.string(200).replace(/[\r\n]/g, '')}`);

  const version = rng.chance(0.95)
    ? 'HTTP/1.1'
    : rng.pick(['HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/x', '']);
  const line = `${method} ${target} ${version}`.trimEnd();

  // How the request travels.
  const roll = rng.next();
  let transport = 'content-length';
  let head: string;
  let bodyParts: Buffer[] = [body.bytes];
  let hangUp = false;
  let delays = false;
  if (roll < 0.1) {
    transport = 'chunked';
    head = [line, ...headers, 'Transfer-Encoding: chunked'].join('\r\n');
    const pieces: Buffer[] = [];
    for (let at = 0; at < body.bytes.length; ) {
      const size = Math.min(body.bytes.length - at, rng.int(1, 4096));
      pieces.push(
        Buffer.from(`${size.toString(16)}\r\n`),
        body.bytes.subarray(at, at + size),
        Buffer.from('\r\n'),
      );
      at += size;
    }
    bodyParts = [...pieces, Buffer.from('0\r\n\r\n')];
  } else if (roll < 0.16) {
    transport = 'bad-chunking';
    head = [line, ...headers, 'Transfer-Encoding: chunked'].join('\r\n');
    bodyParts = [
      Buffer.from(
        rng.pick([
          `zz\r\n${body.bytes.toString('latin1')}\r\n0\r\n\r\n`,
          `${(body.bytes.length + 10).toString(16)}\r\n${body.bytes.toString('latin1')}\r\n0\r\n\r\n`,
          `ffffffffffffffff\r\nabc\r\n`,
          `-1\r\n\r\n`,
          `3;${'x'.repeat(20_000)}\r\nabc\r\n0\r\n\r\n`,
          `3\r\nabcXX0\r\n\r\n`,
        ]),
        'latin1',
      ),
    ];
  } else if (roll < 0.22) {
    transport = 'truncated-hangup';
    head = [line, ...headers, `Content-Length: ${body.bytes.length + rng.int(1, 5000)}`].join('\r\n');
    bodyParts = [body.bytes.subarray(0, rng.int(0, body.bytes.length))];
    hangUp = true;
  } else if (roll < 0.26) {
    transport = 'slow';
    head = [line, ...headers, `Content-Length: ${body.bytes.length}`].join('\r\n');
    delays = true;
  } else if (roll < 0.29) {
    transport = 'headers-then-hangup';
    head = [line, ...headers, `Content-Length: ${body.bytes.length}`].join('\r\n');
    bodyParts = [];
    hangUp = true;
  } else if (roll < 0.31) {
    transport = 'huge-declared';
    head = [
      line,
      ...headers,
      `Content-Length: ${rng.pick([4 * 1024 * 1024 + 1, 2 ** 40, 2 ** 53 + 1])}`,
    ].join('\r\n');
    bodyParts = [body.bytes];
  } else if (roll < 0.34) {
    transport = 'bad-length';
    head = [
      line,
      ...headers,
      rng.pick([
        'Content-Length: -1',
        'Content-Length: abc',
        'Content-Length: 1, 2',
        `Content-Length: ${body.bytes.length}\r\nContent-Length: ${body.bytes.length + 1}`,
        `Content-Length: ${body.bytes.length}\r\nTransfer-Encoding: chunked`,
        'Transfer-Encoding: gzip, chunked',
        'Transfer-Encoding: identity',
      ]),
    ].join('\r\n');
  } else if (roll < 0.345) {
    transport = 'body-over-limit';
    const big = Buffer.alloc(4 * 1024 * 1024 + 10, 0x20);
    head = [line, ...headers, 'Transfer-Encoding: chunked'].join('\r\n');
    bodyParts = [Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')];
  } else if (roll < 0.36) {
    transport = 'extra-bytes';
    head = [line, ...headers, `Content-Length: ${body.bytes.length}`].join('\r\n');
    bodyParts = [body.bytes, Buffer.from(`GARBAGE ${rng.string(30)}\r\n\r\n`)];
  } else {
    head = [line, ...headers, `Content-Length: ${body.bytes.length}`].join('\r\n');
  }

  const all = Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), ...bodyParts]);
  let parts: WirePart[];
  if (delays) {
    // A slow client, bounded: at most 8 pieces, 2–20 ms apart.
    parts = [];
    const pieces = rng.int(2, 8);
    const step = Math.ceil(all.length / pieces);
    for (let at = 0; at < all.length; at += step)
      parts.push({ data: all.subarray(at, at + step), delayMs: rng.int(2, 20) });
  } else {
    parts = [{ data: all, delayMs: 0 }];
  }
  if (upgrade && !hangUp && rng.chance(0.3)) {
    // Stdin after the hijack, then an early hang-up.
    parts.push({ data: rng.bytes(rng.int(1, 64)), delayMs: rng.int(0, 20) });
    hangUp = true;
    transport += '+stdin-hangup';
  }

  return {
    route,
    method,
    target,
    transport: `${transport} (${body.kind} body)`,
    upgrade,
    incompleteBody: ['bad-chunking', 'huge-declared', 'bad-length'].includes(transport.split('+')[0] ?? ''),
    plan: { parts, hangUp, head: method === 'HEAD' },
    preview: all.subarray(0, 600).toString('latin1'),
  };
}
