import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  apiSecurityOptions,
  configLoadOptions,
  effectiveLogLevel,
  parseBoolFlag,
} from '../src/daemon/daemon-options.js';
import { createDaemonLogger, type DaemonLogger } from '../src/daemon/logger.js';
import { type DaemonRuntime, type LoadedConfig, runDaemon } from '../src/daemon/run-daemon.js';

const noFlags = { host: [], storageOpt: [], execOpt: [], label: [] };

function captured(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return { stream, text: () => Buffer.concat(parts).toString('utf8') };
}

const quietLogger: DaemonLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child: () => quietLogger,
};

const config: LoadedConfig = {
  hosts: ['unix:///tmp/t.sock'],
  group: 'docker',
  debug: false,
  'log-level': 'info',
};

/** A runtime that records the order of calls; each step can be made to fail. */
function fakeRuntime(fail: { config?: Error; daemon?: Error; api?: Error } = {}) {
  const calls: string[] = [];
  let apiOptions: unknown;
  const runtime: DaemonRuntime = {
    async loadConfig(options) {
      calls.push(`load ${options.configFile ?? '(no file)'} required=${options.configFileRequired}`);
      if (fail.config) throw fail.config;
      return config;
    },
    async startDaemon(_config, options) {
      calls.push(`daemon.start importModule=${typeof options.importModule}`);
      if (fail.daemon) throw fail.daemon;
      return {
        async shutdown() {
          calls.push('daemon.shutdown');
        },
      };
    },
    async startApi(_daemon, options) {
      calls.push('api.start');
      apiOptions = options;
      if (fail.api) throw fail.api;
      return {
        addresses: ['/tmp/t.sock'],
        async close() {
          calls.push('api.close');
        },
      };
    },
  };
  return { runtime, calls, apiOptions: () => apiOptions };
}

/** Resolves once `calls` contains `entry` (polled on the event loop, no timing assumptions). */
async function until(calls: string[], entry: string): Promise<void> {
  while (!calls.includes(entry)) await new Promise((r) => setImmediate(r));
}

describe('tsdocker daemon flags', () => {
  it('passes only the flags given, and requires only an explicit config file', () => {
    expect(configLoadOptions(noFlags)).toEqual({
      configFile: '/etc/tsdocker/daemon.json',
      configFileRequired: false,
      overrides: {},
    });
    expect(
      configLoadOptions({
        ...noFlags,
        configFile: '/tmp/d.json',
        dataRoot: '/srv/tsd',
        execRoot: '/run/tsd',
        host: ['unix:///a.sock', 'tcp://127.0.0.1:2375'],
        storageDriver: 'vfs',
        execDriver: 'native',
        group: 'staff',
        debug: true,
        logLevel: 'warn',
        storageOpt: ['size=1G'],
        shutdownTimeout: '30',
      }),
    ).toEqual({
      configFile: '/tmp/d.json',
      configFileRequired: true,
      overrides: {
        'data-root': '/srv/tsd',
        'exec-root': '/run/tsd',
        hosts: ['unix:///a.sock', 'tcp://127.0.0.1:2375'],
        group: 'staff',
        'storage-driver': 'vfs',
        'storage-opts': ['size=1G'],
        'exec-driver': 'native',
        'log-level': 'warn',
        debug: true,
        'shutdown-timeout': 30,
      },
    });
  });

  it('lets -D win over log-level', () => {
    expect(effectiveLogLevel({ debug: true, 'log-level': 'error' })).toBe('debug');
    expect(effectiveLogLevel({ debug: false, 'log-level': 'warn' })).toBe('warn');
  });

  it('parses --tls/--tlsverify like Go booleans and resolves certificate paths', () => {
    expect(parseBoolFlag(true, 'tls')).toBe(true);
    expect(parseBoolFlag('false', 'tls')).toBe(false);
    expect(parseBoolFlag('1', 'tlsverify')).toBe(true);
    expect(() => parseBoolFlag('yes', 'tls')).toThrow(
      'invalid argument "yes" for "--tls" flag: strconv.ParseBool: parsing "yes": invalid syntax',
    );
    expect(
      configLoadOptions({
        ...noFlags,
        tlsverify: true,
        tlscacert: 'ca.pem',
        tlscert: '/c.pem',
        tlskey: '/k.pem',
      }).overrides,
    ).toEqual({ tlsverify: true, tlscacert: `${process.cwd()}/ca.pem`, tlscert: '/c.pem', tlskey: '/k.pem' });
  });

  it('serves TCP with mutual TLS, or unauthenticated only when asked for explicitly', () => {
    // Nothing said: no TLS, and tcp:// hosts will be refused.
    expect(apiSecurityOptions({}, '/certs')).toEqual({ allowInsecureTcp: false });
    // --tls=false / --tlsverify=false: the explicit opt-in to plain text.
    expect(apiSecurityOptions({ tls: false }, '/certs')).toEqual({ allowInsecureTcp: true });
    expect(apiSecurityOptions({ tlsverify: false }, '/certs')).toEqual({ allowInsecureTcp: true });
    // --tlsverify: mutual TLS with dockerd's default file names.
    expect(apiSecurityOptions({ tlsverify: true }, '/certs')).toEqual({
      tls: {
        caFile: '/certs/ca.pem',
        certFile: '/certs/cert.pem',
        keyFile: '/certs/key.pem',
        verifyClients: true,
      },
      allowInsecureTcp: false,
    });
    // --tls alone encrypts but accepts anyone: still refused unless --tlsverify=false says so.
    expect(apiSecurityOptions({ tls: true, tlscert: '/c', tlskey: '/k' }, '/certs')).toEqual({
      tls: { certFile: '/c', keyFile: '/k', verifyClients: false },
      allowInsecureTcp: false,
    });
    expect(apiSecurityOptions({ tls: true, tlsverify: false }, '/certs').allowInsecureTcp).toBe(true);
    // --tlsverify wins over --tls=false, as in dockerd.
    expect(apiSecurityOptions({ tls: false, tlsverify: true }, '/certs')).toMatchObject({
      tls: { verifyClients: true },
      allowInsecureTcp: false,
    });
  });
});

describe('structured logger', () => {
  it("writes pino JSON lines through core's Logger shape", () => {
    const out = captured();
    const logger = createDaemonLogger('info', out.stream);
    logger.debug('hidden');
    logger.info('API listen on /run/tsdocker.sock');
    logger.child({ driver: 'vfs' }).warn('slow', { ms: 12, err: new Error('boom') });
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'API listen on /run/tsdocker.sock', pid: process.pid });
    expect(typeof lines[0]?.time).toBe('string');
    expect(lines[1]).toMatchObject({
      level: 40,
      msg: 'slow',
      driver: 'vfs',
      ms: 12,
      err: { message: 'boom', type: 'Error' },
    });
  });
});

describe('runDaemon', () => {
  it('starts core then the API, and on SIGTERM closes the API, shuts down and exits 0', async () => {
    const { runtime, calls, apiOptions } = fakeRuntime();
    const signals = new EventEmitter();
    const stderr = captured();
    const done = runDaemon(
      { ...noFlags },
      { runtime, stderr: stderr.stream, signals, createLogger: () => quietLogger, fileExists: () => true },
    );
    await until(calls, 'api.start');
    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    expect(calls).toEqual([
      'load /etc/tsdocker/daemon.json required=false',
      'daemon.start importModule=function',
      'api.start',
      'api.close',
      'daemon.shutdown',
    ]);
    expect(apiOptions()).toMatchObject({
      hosts: config.hosts,
      socketGroup: 'docker',
      allowInsecureTcp: false,
    });
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(stderr.text()).toBe('');
  });

  it('leaves a missing default config file out, but passes an explicit one on', async () => {
    const { runtime, calls } = fakeRuntime({ config: new Error('stop here') });
    const options = {
      runtime,
      stderr: captured().stream,
      signals: new EventEmitter(),
      fileExists: () => false,
    };
    await runDaemon({ ...noFlags }, options);
    await runDaemon({ ...noFlags, configFile: '/tmp/missing.json' }, options);
    expect(calls).toEqual(['load (no file) required=false', 'load /tmp/missing.json required=true']);
  });

  it('shuts down after start-up when a signal came during it', async () => {
    const { runtime, calls } = fakeRuntime();
    const signals = new EventEmitter();
    const slow: DaemonRuntime = {
      ...runtime,
      async loadConfig(options) {
        signals.emit('SIGINT');
        return runtime.loadConfig(options);
      },
    };
    await expect(
      runDaemon(
        { ...noFlags },
        { runtime: slow, stderr: captured().stream, signals, createLogger: () => quietLogger },
      ),
    ).resolves.toBe(0);
    expect(calls.slice(-2)).toEqual(['api.close', 'daemon.shutdown']);
  });

  it('prints a start-up failure on one line and exits 1', async () => {
    const { runtime, calls } = fakeRuntime({
      daemon: new Error(
        'graph driver "overlay2" is not installed: install the package @tsdocker/graphdriver-overlay (e.g. npm install @tsdocker/graphdriver-overlay)',
      ),
    });
    const stderr = captured();
    await expect(
      runDaemon(
        { ...noFlags },
        { runtime, stderr: stderr.stream, signals: new EventEmitter(), createLogger: () => quietLogger },
      ),
    ).resolves.toBe(1);
    expect(stderr.text()).toBe(
      'failed to start daemon: graph driver "overlay2" is not installed: install the package @tsdocker/graphdriver-overlay (e.g. npm install @tsdocker/graphdriver-overlay)\n',
    );
    expect(calls).not.toContain('api.start');
  });

  it('joins a multi-line config error into one line', async () => {
    const { runtime } = fakeRuntime({
      config: new Error('invalid config file /x.json:\n  storage-driver: too short'),
    });
    const stderr = captured();
    await expect(
      runDaemon({ ...noFlags }, { runtime, stderr: stderr.stream, signals: new EventEmitter() }),
    ).resolves.toBe(1);
    expect(stderr.text()).toBe(
      'failed to start daemon: invalid config file /x.json:; storage-driver: too short\n',
    );
  });

  it('shuts the daemon down again when the API cannot listen', async () => {
    const { runtime, calls } = fakeRuntime({
      api: new Error('listen EADDRINUSE: address already in use /tmp/t.sock'),
    });
    const stderr = captured();
    await expect(
      runDaemon(
        { ...noFlags },
        { runtime, stderr: stderr.stream, signals: new EventEmitter(), createLogger: () => quietLogger },
      ),
    ).resolves.toBe(1);
    expect(calls.slice(-2)).toEqual(['api.start', 'daemon.shutdown']);
    expect(stderr.text()).toBe(
      'failed to start daemon: listen EADDRINUSE: address already in use /tmp/t.sock\n',
    );
  });

  it('forces an exit on the third interrupt', async () => {
    const signals = new EventEmitter();
    const { runtime, calls } = fakeRuntime();
    let releaseClose: () => void = () => {};
    const stuck: DaemonRuntime = {
      ...runtime,
      async startApi(daemon, options) {
        const api = await runtime.startApi(daemon, options);
        return {
          ...api,
          close: () =>
            new Promise<void>((resolve) => {
              calls.push('api.close (stuck)');
              releaseClose = resolve;
            }),
        };
      },
    };
    const forced: number[] = [];
    const done = runDaemon(
      { ...noFlags },
      {
        runtime: stuck,
        stderr: captured().stream,
        signals,
        createLogger: () => quietLogger,
        forceExit: (c) => forced.push(c),
      },
    );
    await until(calls, 'api.start');
    signals.emit('SIGINT');
    signals.emit('SIGINT');
    expect(forced).toEqual([]);
    signals.emit('SIGINT');
    expect(forced).toEqual([130]);
    await until(calls, 'api.close (stuck)');
    releaseClose();
    await expect(done).resolves.toBe(0);
  });
});
