/**
 * Fuzzes every route of a real daemon with malformed requests (issue 5, acceptance 3).
 *
 * Requests come from the API's own route table (`allRoutes`), so routes added later are fuzzed
 * too. Each one is generated from (seed, index) alone; a failure prints both, and
 * `FUZZ_SEED=<seed> FUZZ_INDEX=<i>` replays that one request (`FUZZ_REQUESTS` sets the count).
 *
 * Invariants, checked after every request:
 * - the daemon never crashes (same pid, still answering `/_ping`) and never hangs on a request
 *   that has no reason to wait;
 * - every answer is a legitimate 2xx/101, or a 4xx/5xx in Docker's error shape
 *   (`{"message": …}`, `Content-Type: application/json`; plain text only where moby uses it,
 *   for clients older than API 1.24);
 * - a request that failed left the state on disk (container and image store files, the set of
 *   layers) exactly as it was, and no malformed create ever makes a container. A change seen
 *   after a failed request is confirmed by replaying it (see `confirmChange`): the daemon's own
 *   background work (a container exiting late after a legitimate signal) is not blamed on it.
 *
 * The containers and the image the requests aim at are made deliberately, with valid requests,
 * and put back (restarted, re-tagged, re-created) whenever a fuzz request legitimately changed them.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { allRoutes, compareApiVersions, MIN_API_VERSION } from '@tsdocker/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxTar } from '../helpers/busybox-image.js';
import { type DaemonHandle, startDaemon } from '../helpers/daemon.js';
import { type DiskState, diffStates, snapshotState } from './disk-state.js';
import { type FuzzRequest, generateRequest, type RouteInfo, type Targets } from './fuzz-requests.js';
import { Rng } from './fuzz-rng.js';
import { exchange, type Outcome } from './raw-http.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2024);
const COUNT = Number(process.env.FUZZ_REQUESTS ?? 3000);
const ONLY = process.env.FUZZ_INDEX === undefined ? undefined : Number(process.env.FUZZ_INDEX);
const LIMITS = { headTimeoutMs: 4000, streamReadMs: 150 };

/** Routes that may legitimately keep a client waiting for their answer (bounded by the fixtures). */
const MAY_WAIT = new Set([
  'POST /containers/{name}/wait',
  'POST /containers/{name}/attach',
  'GET /containers/{name}/logs',
  'POST /exec/{id}/start',
  'POST /containers/{name}/stop',
  'POST /containers/{name}/restart',
  'POST /containers/{name}/kill',
  'DELETE /containers/{name}',
  'POST /images/create',
]);
/** Routes whose effect depends on the body: abandoned half-way, they must change nothing. */
const BODY_ROUTES = new Set([
  'POST /containers/create',
  'POST /images/create',
  'POST /containers/{name}/exec',
]);

const RUNNING = 'fuzz-running';
const CREATED = 'fuzz-created';
const IMAGE = 'fuzzbox';

let d: DaemonHandle;
let tarPath: string;

/** A valid request the test makes on purpose (fixtures), with a timeout. */
function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: () => Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload =
      body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const req = httpRequest(
      {
        socketPath: d.socket,
        method,
        path,
        timeout: 60_000,
        headers: payload
          ? {
              'Content-Type': Buffer.isBuffer(body) ? 'application/x-tar' : 'application/json',
              'Content-Length': payload.length,
            }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(text) as Record<string, unknown> });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function expectStatus(
  promise: ReturnType<typeof call>,
  statuses: number[],
  what: string,
): Promise<Record<string, unknown> | undefined> {
  const res = await promise;
  if (!statuses.includes(res.status)) {
    let detail = '';
    try {
      detail = JSON.stringify(res.json());
    } catch {}
    throw new Error(`fixture step "${what}" answered ${res.status} ${detail}`);
  }
  try {
    return res.json();
  } catch {
    return undefined;
  }
}

interface Fixtures {
  imageId: string;
  running: string;
  created: string;
  exec: string;
}

/**
 * Puts the image, the running and the created container, and an unstarted exec back in place.
 * Tries a few times: the aftermath of a fuzz request (a signal, stdin sent to the TTY) can still
 * be ending the running container while it is checked.
 */
let fixtures: Fixtures | undefined;

async function ensureFixtures(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureFixturesOnce();
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Waits for lifecycle work still running on the fixture containers (a stop or restart whose
 * client hung up goes on in the daemon): each such operation holds the container's lock, and
 * `unpause` takes the same lock, so it returns only after them (409 when not paused is fine).
 */
async function drainContainerWork(): Promise<void> {
  for (const name of [RUNNING, CREATED])
    await call('POST', `/containers/${name}/unpause`).catch(() => undefined);
}

async function ensureFixturesOnce(): Promise<void> {
  await drainContainerWork();
  const image = await call('GET', `/images/${IMAGE}:latest/json`);
  if (image.status !== 200) {
    const byId = fixtures ? await call('GET', `/images/${fixtures.imageId}/json`) : { status: 404 };
    if (byId.status === 200) {
      await expectStatus(
        call('POST', `/images/${fixtures?.imageId}/tag?repo=${IMAGE}&tag=latest`),
        [201],
        'tag',
      );
    } else {
      await expectStatus(
        call('POST', `/images/create?fromSrc=-&repo=${IMAGE}&tag=latest`, readFileSync(tarPath)),
        [200],
        'import',
      );
    }
  }
  const imageId =
    image.status === 200
      ? (image.json().Id as string)
      : ((await expectStatus(call('GET', `/images/${IMAGE}:latest/json`), [200], 'image'))?.Id as string);

  type Summary = { Id: string; Names: string[]; State: string };
  const list = (await call('GET', '/containers/json?all=1')).json() as unknown as Summary[];
  const named = (name: string) => list.find((c) => c.Names.includes(`/${name}`));
  let running = named(RUNNING);
  if (!running) {
    // Exits on the usual stop signals at once, so stop/restart never wait long.
    const made = await expectStatus(
      call('POST', `/containers/create?name=${RUNNING}`, {
        Image: `${IMAGE}:latest`,
        Cmd: ['sh', '-c', 'trap "exit 0" TERM INT HUP QUIT USR1 USR2; while :; do sleep 1 & wait $!; done'],
        Tty: true,
        OpenStdin: true,
        StopTimeout: 1,
      }),
      [201],
      'create running',
    );
    running = { Id: made?.Id as string, Names: [`/${RUNNING}`], State: 'created' };
  }
  if (running.State === 'paused')
    await expectStatus(call('POST', `/containers/${running.Id}/unpause`), [204], 'unpause');
  else if (running.State !== 'running')
    await expectStatus(call('POST', `/containers/${running.Id}/start`), [204, 304], 'start');

  let created = named(CREATED);
  if (!created) {
    const made = await expectStatus(
      call('POST', `/containers/create?name=${CREATED}`, { Image: `${IMAGE}:latest`, Cmd: ['true'] }),
      [201],
      'create created',
    );
    created = { Id: made?.Id as string, Names: [`/${CREATED}`], State: 'created' };
  }

  let exec = fixtures?.exec;
  const execState = exec ? await call('GET', `/exec/${exec}/json`) : undefined;
  const info = execState?.status === 200 ? execState.json() : undefined;
  if (info?.Pid !== 0 || info.ExitCode !== null || info.ContainerID !== running.Id) {
    const made = await expectStatus(
      call('POST', `/containers/${running.Id}/exec`, { Cmd: ['true'], AttachStdout: true }),
      [201],
      'exec create',
    );
    exec = made?.Id as string;
  }
  fixtures = { imageId, running: running.Id, created: created.Id, exec: exec as string };
}

function currentFixtures(): Fixtures {
  if (!fixtures) throw new Error('fixtures are not set up');
  return fixtures;
}

function targets(): Targets {
  const fixtures = currentFixtures();
  const hex = fixtures.imageId.replace('sha256:', '');
  return {
    containers: [
      fixtures.running,
      RUNNING,
      `/${RUNNING}`,
      fixtures.running.slice(0, 12),
      fixtures.created,
      CREATED,
      fixtures.created.slice(0, 5),
    ],
    images: [
      IMAGE,
      `${IMAGE}:latest`,
      `docker.io/library/${IMAGE}:latest`,
      fixtures.imageId,
      hex,
      hex.slice(0, 12),
    ],
    execs: [fixtures.exec],
  };
}

/**
 * Snapshots until the state stops moving (the aftermath of a legitimate change: a container that
 * was signalled exits a moment later). Settled means four equal snapshots in a row and no
 * atomic write half-way (`.tmp-*` files).
 */
async function settledState(): Promise<DiskState> {
  let previous = snapshotState(d.dataRoot);
  let stable = 0;
  for (let i = 0; i < 200 && stable < 4; i++) {
    await new Promise((r) => setTimeout(r, 15));
    const next = snapshotState(d.dataRoot);
    const writing = [...next.keys()].some((path) => path.includes('/.tmp-'));
    stable = !writing && diffStates(previous, next).length === 0 ? stable + 1 : 0;
    previous = next;
  }
  return previous;
}

/**
 * Whether a failed request really changed the state: the daemon has background work of its own
 * (a container signalled by an earlier, legitimate request exiting late on a loaded machine), so
 * a change seen once is confirmed by sending the very same bytes again in a quiet moment (after
 * the fixtures' pending lifecycle work and a settle), twice. A request that writes when it fails
 * does so every time; background noise does not repeat.
 */
async function confirmChange(
  req: FuzzRequest,
  settle: boolean,
): Promise<{ before: DiskState; diff: string[] }> {
  await drainContainerWork();
  const before = await settledState();
  await exchange(d.socket, req.plan, LIMITS);
  const after = settle ? await settledState() : snapshotState(d.dataRoot);
  return { before, diff: diffStates(before, after) };
}

/** Names the containers behind `containers/<id>/…` lines of a diff, for the report. */
function explainDiff(diff: string[]): string {
  const ids = new Set(diff.map((line) => /containers\/([0-9a-f]{64})\//.exec(line)?.[1]).filter(Boolean));
  const names = [...ids].map((id) => {
    const fx = fixtures;
    const role = id === fx?.running ? RUNNING : id === fx?.created ? CREATED : 'another container';
    return `${id?.slice(0, 12)} is ${role}`;
  });
  return `${diff.join('\n')}${names.length ? `\n(${names.join('; ')})` : ''}`;
}

async function pingOk(): Promise<boolean> {
  try {
    return (await call('GET', '/_ping')).status === 200;
  } catch {
    return false;
  }
}

/** Routes that change nothing persistent even when they succeed. */
const READ_ONLY_ROUTES = new Set([
  'POST /containers/{name}/resize',
  'POST /exec/{id}/resize',
  'POST /containers/{name}/exec',
  'POST /containers/{name}/wait',
]);

/** Requests that cannot change anything persistent need no repair or settling afterwards. */
function mayChangeState(req: FuzzRequest): boolean {
  if (!req.route || ['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return false;
  // Another method on the same path may reach another route.
  if (req.method !== req.route.method) return true;
  return !READ_ONLY_ROUTES.has(routeKey(req));
}

/** A broken invariant, already described with its request. */
class FuzzFailure extends Error {}

function routeKey(req: FuzzRequest): string {
  return req.route ? `${req.route.method} ${req.route.path}` : '(random path)';
}

function describeRequest(index: number, req: FuzzRequest, outcome: Outcome): string {
  const answer =
    outcome.kind === 'response'
      ? `${outcome.status} ${outcome.headers.get('content-type') ?? '(no content-type)'} ${outcome.body.subarray(0, 300).toString()}`
      : outcome.kind;
  return [
    `request #${index} of seed ${SEED} (replay: FUZZ_SEED=${SEED} FUZZ_INDEX=${index})`,
    `route: ${routeKey(req)}; transport: ${req.transport}; upgrade: ${req.upgrade}`,
    `sent: ${JSON.stringify(req.preview)}`,
    `answer: ${answer}`,
  ].join('\n');
}

/** Checks an error answer's shape; returns a problem or undefined. */
function errorShapeProblem(
  req: FuzzRequest,
  status: number,
  headers: Map<string, string>,
  body: Buffer,
): string | undefined {
  const contentType = headers.get('content-type') ?? '';
  // moby answers clients older than 1.24 in plain text (they cannot read JSON errors).
  const version = /^\/v([0-9.]+)\//.exec(req.target)?.[1];
  const ancient = version !== undefined && compareApiVersions(version, MIN_API_VERSION) < 0;
  if (ancient && contentType.startsWith('text/plain')) return undefined;
  if (contentType !== 'application/json')
    return `error ${status} with Content-Type ${JSON.stringify(contentType)}`;
  if (req.plan.head) return undefined;
  try {
    const parsed = JSON.parse(body.toString()) as { message?: unknown };
    if (typeof parsed.message !== 'string' || parsed.message === '') return 'error body without a message';
  } catch {
    return `error body is not JSON: ${JSON.stringify(body.subarray(0, 200).toString())}`;
  }
  return undefined;
}

beforeAll(async () => {
  d = await startDaemon();
  tarPath = await buildBusyboxTar(d.dir);
  const imported = d.docker(['import', tarPath, `${IMAGE}:latest`]);
  expect(imported.stderr).toBe('');
  await ensureFixtures();
});

afterAll(async () => {
  if (!d) return;
  const left = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (left.length) d.docker(['rm', '-f', ...left]);
  await d.stop();
});

describe('API fuzz', () => {
  // Bounded by the request count, not by time; the generous timeout is for loaded machines.
  it(`survives ${ONLY === undefined ? COUNT : 1} malformed requests against every route (seed ${SEED})`, {
    timeout: 600_000,
  }, async () => {
    const routes: RouteInfo[] = allRoutes.map((r) => ({ method: r.method, path: r.path }));
    const pid = d.process.pid;
    const stats = { responses: 0, errors: 0, legit: 0, hungUp: 0, timeouts: 0, noise: 0, resent: 0 };
    /** Changes seen once and not again on replay (background work), listed in the summary. */
    const noise: string[] = [];
    /** 5xx answers (other than 501/503), by route and message. */
    const serverErrors = new Map<string, number>();
    let state = await settledState();
    const first = ONLY ?? 0;
    const last = ONLY ?? COUNT - 1;

    for (let index = first; index <= last; index++) {
      let current: { req: FuzzRequest; outcome?: Outcome } | undefined;
      try {
        const req = generateRequest(Rng.forRequest(SEED, index), routes, targets());
        current = { req };
        // A server may wait for a body that never comes; don't wait long for it in turn.
        const limits = req.incompleteBody ? { ...LIMITS, headTimeoutMs: 1000 } : LIMITS;
        let outcome = await exchange(d.socket, req.plan, limits);
        for (
          let resend = 0;
          resend < 2 && outcome.kind === 'closed' && outcome.connected && outcome.sending;
          resend++
        ) {
          // The server may answer before reading a body and close; a write that then fails (EPIPE)
          // can take the unread answer with it on our side (seen on a machine with a load average
          // of 60). Send the same bytes again, after a ping, to see the answer.
          stats.resent++;
          await pingOk();
          outcome = await exchange(d.socket, req.plan, limits);
        }
        current.outcome = outcome;
        const key = routeKey(req);
        const fail = (problem: string): never => {
          throw new FuzzFailure(
            `${problem}\n${describeRequest(index, req, outcome)}\n--- daemon log (tail) ---\n${d.logs().slice(-3000)}`,
          );
        };
        /** A request that failed must have changed nothing (confirmed by a replay, see above). */
        const expectUnchanged = async (what: string, settle: boolean): Promise<boolean> => {
          const diff = diffStates(state, settle ? await settledState() : snapshotState(d.dataRoot));
          if (diff.length === 0) return false;
          // Twice, so that background work caught by chance during a replay is not blamed either.
          const again = await confirmChange(req, settle);
          if (again.diff.length && (await confirmChange(req, settle)).diff.length)
            fail(`${what} changed the state on disk:\n${explainDiff(again.diff)}`);
          stats.noise++;
          noise.push(`#${index} ${key}: ${explainDiff(diff)}`);
          return true;
        };

        if (d.process.exitCode !== null || d.process.signalCode !== null || d.process.pid !== pid) {
          fail(`the daemon died (exit ${d.process.exitCode}, signal ${d.process.signalCode})`);
        }
        let legitChange = false;

        switch (outcome.kind) {
          case 'timeout':
            stats.timeouts++;
            if (!(await pingOk())) fail('the daemon stopped answering /_ping');
            if (!MAY_WAIT.has(key) && !req.incompleteBody)
              fail(`no answer within ${LIMITS.headTimeoutMs} ms from a route with no reason to wait`);
            legitChange = true;
            break;
          case 'closed':
            fail(
              outcome.connected
                ? `the daemon closed the connection without answering (${outcome.error ?? 'FIN'})`
                : `could not connect to the daemon (${outcome.error})`,
            );
            break;
          case 'hung-up':
            stats.hungUp++;
            // A body that never arrived whole must have come to nothing; other routes may act on
            // a complete head, as moby's do.
            if (req.transport.startsWith('truncated-hangup') && BODY_ROUTES.has(key)) {
              legitChange = await expectUnchanged('an abandoned request', true);
            } else {
              legitChange = mayChangeState(req);
            }
            break;
          case 'response': {
            stats.responses++;
            const { status, headers, body } = outcome;
            if (status < 100 || status > 599) fail('the answer is not HTTP');
            if (status >= 400) {
              stats.errors++;
              const problem = errorShapeProblem(req, status, headers, body);
              if (problem) fail(problem);
              if (status >= 500 && status !== 501 && status !== 503) {
                // Malformed input should be a 4xx; list the 5xx for the summary.
                const message = body.toString().slice(0, 160);
                serverErrors.set(
                  `${status} ${key}: ${message}`,
                  (serverErrors.get(`${status} ${key}: ${message}`) ?? 0) + 1,
                );
              }
              legitChange = await expectUnchanged('a failed request', false);
              break;
            }
            if (status >= 300 && status !== 304) fail(`unexpected status ${status}`);
            stats.legit++;
            if (key === 'POST /containers/create' && status === 201) {
              // Bodies only name images that do not exist (or, by chance, a prefix of the real id).
              const id = (JSON.parse(body.toString()) as { Id: string }).Id;
              const made = (await call('GET', `/containers/${id}/json`)).json() as {
                Config: { Image: string };
              };
              const used = made.Config.Image;
              const { imageId } = currentFixtures();
              if (
                used === '' ||
                !(imageId.replace('sha256:', '').startsWith(used) || imageId.startsWith(used))
              ) {
                fail(`a container was created from image ${JSON.stringify(used)}`);
              }
              await expectStatus(call('DELETE', `/containers/${id}?force=1`), [204], 'remove accidental');
            }
            if (key === 'POST /images/create' && status === 200 && /"error(Detail)?"/.test(body.toString())) {
              // An import that failed in-band must have left nothing behind either.
              legitChange = await expectUnchanged('a failed import', true);
              break;
            }
            legitChange = mayChangeState(req);
            break;
          }
        }

        if (legitChange) {
          await ensureFixtures();
          state = await settledState();
        }
        if (index % 50 === 49 && !(await pingOk())) fail('the daemon stopped answering /_ping');
      } catch (err) {
        // Anything else that went wrong (the daemon gone, a fixture step refused) is reported
        // with the request that led to it and the daemon's log.
        if (err instanceof FuzzFailure || !current) throw err;
        const { req, outcome = { kind: 'timeout' } } = current;
        throw new FuzzFailure(
          `${(err as Error).message}\n${describeRequest(index, req, outcome)}\n--- daemon log (tail) ---\n${d.logs().slice(-3000)}`,
        );
      }
    }

    expect(await pingOk()).toBe(true);
    expect(d.process.pid).toBe(pid);
    expect(d.process.exitCode).toBeNull();
    const errorsList = [...serverErrors].map(([what, n]) => `${n}× ${what}`);
    console.log(
      [
        `fuzz seed ${SEED}: ${JSON.stringify(stats)}`,
        ...(noise.length ? ['background changes (not repeated on replay):', ...noise] : []),
        ...(errorsList.length ? ['5xx answers:', ...errorsList] : []),
      ].join('\n'),
    );
    // Most requests must have been answered (not just abandoned), or the fuzzer tests nothing.
    if (ONLY === undefined) expect(stats.responses).toBeGreaterThan(COUNT / 2);
  });
});
