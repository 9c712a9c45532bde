/**
 * Issue 4's acceptance, end to end with the real docker CLI: user-defined networks with DNS,
 * isolation, published ports reached from the host's loopback and from containers, the
 * none/host/container network modes, nothing left in the kernel afterwards, and addresses and
 * networks that survive a restart and a crash. The daemon has its own bridge, subnets, veth
 * names and iptables chains (test/helpers/network-names.ts); traffic only goes to loopback and
 * to the namespaces of this daemon's containers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxTar } from '../helpers/busybox-image.js';
import { type DaemonHandle, startDaemon } from '../helpers/daemon.js';
import { leftoverLinks, leftoverRules } from '../helpers/network-names.js';

let d: DaemonHandle;
const HTTPD = (text: string, port = 8080) =>
  `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p ${port} -h /www`;

function ok(r: ReturnType<DaemonHandle['docker']>): string {
  if (r.status !== 0)
    throw new Error(`docker exited ${r.status}: ${r.stderr}\n--- daemon log ---\n${d.logs().slice(-4000)}`);
  return r.stdout;
}

function inspect(ref: string, format: string): string {
  return ok(d.docker(['inspect', '--format', format, ref])).trim();
}

/** Retries a command until it succeeds (a server in a fresh container needs a moment). */
function eventually(args: string[], tries = 50): ReturnType<DaemonHandle['docker']> {
  let r = d.docker(args);
  for (let i = 1; i < tries && r.status !== 0; i++) {
    spawnSync('sleep', ['0.2']);
    r = d.docker(args);
  }
  return r;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function httpGetEventually(port: number): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return await httpGet(port);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

const netnsList = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
let netnsBefore = '';

beforeAll(async () => {
  netnsBefore = netnsList();
  d = await startDaemon();
  const tar = await buildBusyboxTar(d.dir);
  ok(d.docker(['import', '--change', 'CMD ["sh"]', tar, 'busybox:latest']));
});

afterAll(async () => {
  if (!d) return;
  const left = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (left.length) d.docker(['rm', '-f', ...left]);
  d.docker(['network', 'prune', '-f']);
  await d.stop();
});

describe('1. user-defined networks: names resolve, networks are isolated', () => {
  it('creates networks and lists them', () => {
    const id = ok(d.docker(['network', 'create', '--label', 'suite=net', 'front'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    ok(d.docker(['network', 'create', 'other']));
    const ls = ok(d.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']));
    expect(ls.split('\n').sort()).toEqual(
      [
        '',
        'bridge bridge local',
        'front bridge local',
        'host host local',
        'none null local',
        'other bridge local',
      ].sort(),
    );
    expect(inspect('front', '{{.Labels.suite}}')).toBe('net');
    const subnet = inspect('front', '{{(index .IPAM.Config 0).Subnet}}');
    expect(subnet).toMatch(new RegExp(`^${d.network.net16.replace('.', '\\.')}\\.\\d+\\.0/24$`));
  });

  it('refuses a name in use, an overlapping subnet and removing a predefined network', () => {
    const dup = d.docker(['network', 'create', 'front']);
    expect(dup.status).not.toBe(0);
    expect(dup.stderr).toContain('network with name front already exists');
    const subnet = inspect('front', '{{(index .IPAM.Config 0).Subnet}}');
    const overlap = d.docker(['network', 'create', '--subnet', subnet, 'overlapping']);
    expect(overlap.status).not.toBe(0);
    expect(overlap.stderr).toContain('Pool overlaps with other one on this address space');
    const rm = d.docker(['network', 'rm', 'bridge']);
    expect(rm.status).not.toBe(0);
    expect(rm.stderr).toContain('bridge is a pre-defined network and cannot be removed');
    expect(ok(d.docker(['network', 'ls', '-q', '--filter', 'name=overlapping']))).toBe('');
  });

  it('reaches a container by name and by alias (ping and wget)', () => {
    ok(
      d.docker([
        'run',
        '-d',
        '--name',
        'web',
        '--network',
        'front',
        '--network-alias',
        'webalias',
        'busybox',
        'sh',
        '-c',
        HTTPD('hello-web'),
      ]),
    );
    expect(inspect('web', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')).toMatch(/^10\./);
    const ping = d.docker(['run', '--rm', '--network', 'front', 'busybox', 'ping', '-c1', '-W5', 'web']);
    expect(ping.stdout).toContain('1 packets received');
    expect(ping.status).toBe(0);
    const page = eventually([
      'run',
      '--rm',
      '--network',
      'front',
      'busybox',
      'wget',
      '-qO-',
      'http://web:8080',
    ]);
    expect(ok(page)).toBe('hello-web\n');
    const alias = d.docker([
      'run',
      '--rm',
      '--network',
      'front',
      'busybox',
      'wget',
      '-qO-',
      'http://webalias:8080',
    ]);
    expect(ok(alias)).toBe('hello-web\n');
  });

  it('writes resolv.conf for the embedded DNS and hosts with the container address', () => {
    const gateway = inspect('front', '{{(index .IPAM.Config 0).Gateway}}');
    const resolv = ok(d.docker(['run', '--rm', '--network', 'front', 'busybox', 'cat', '/etc/resolv.conf']));
    expect(resolv).toContain(`nameserver ${gateway}\n`);
    expect(resolv).toContain('ndots:0');
    const hosts = ok(
      d.docker([
        'run',
        '--rm',
        '--network',
        'front',
        '--hostname',
        'myhost',
        '--add-host',
        'static.example:192.0.2.77',
        '--add-host',
        'gw.internal:host-gateway',
        'busybox',
        'cat',
        '/etc/hosts',
      ]),
    );
    expect(hosts).toContain('127.0.0.1\tlocalhost');
    expect(hosts).toContain('192.0.2.77\tstatic.example');
    expect(hosts).toContain(`${d.network.net16}.0.1\tgw.internal`);
    expect(hosts).toMatch(/\n10\.\d+\.\d+\.\d+\tmyhost\n/);
  });

  it('keeps a container on another network from reaching them', () => {
    const ip = inspect('web', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
    const ping = d.docker(['run', '--rm', '--network', 'other', 'busybox', 'ping', '-c1', '-W2', ip]);
    expect(ping.status).not.toBe(0);
    const wget = d.docker([
      'run',
      '--rm',
      '--network',
      'other',
      'busybox',
      'wget',
      '-T',
      '2',
      '-qO-',
      `http://${ip}:8080`,
    ]);
    expect(wget.status).not.toBe(0);
  });

  it('connects and disconnects a running container', () => {
    ok(d.docker(['run', '-d', '--name', 'roamer', '--network', 'other', 'busybox', 'sleep', '300']));
    ok(d.docker(['network', 'connect', '--alias', 'roaming', 'front', 'roamer']));
    const ping = d.docker(['exec', 'roamer', 'ping', '-c1', '-W5', 'web']);
    expect(ping.status).toBe(0);
    expect(inspect('front', '{{len .Containers}}')).toBe('2');
    const rmBusy = d.docker(['network', 'rm', 'front']);
    expect(rmBusy.status).not.toBe(0);
    expect(rmBusy.stderr).toContain('has active endpoints');
    ok(d.docker(['network', 'disconnect', 'front', 'roamer']));
    expect(
      ok(d.docker(['exec', 'roamer', 'ip', '-o', 'link']))
        .split('\n')
        .filter(Boolean),
    ).toHaveLength(2);
    ok(d.docker(['rm', '-f', 'roamer']));
  });
});

describe('2. published ports', () => {
  it('-p 127.0.0.1:<port>:8080 answers on the host loopback and in docker port and ps', async () => {
    const port = await freePort();
    ok(
      d.docker([
        'run',
        '-d',
        '--name',
        'pub',
        '-p',
        `127.0.0.1:${port}:8080`,
        'busybox',
        'sh',
        '-c',
        HTTPD('hello-pub'),
      ]),
    );
    expect(await httpGetEventually(port)).toBe('hello-pub\n');
    expect(ok(d.docker(['port', 'pub']))).toBe(`8080/tcp -> 127.0.0.1:${port}\n`);
    expect(ok(d.docker(['ps', '--filter', 'name=pub', '--format', '{{.Ports}}']))).toBe(
      `127.0.0.1:${port}->8080/tcp\n`,
    );
  });

  it('refuses a host port that is taken, leaving nothing behind', async () => {
    const port = Number(/:(\d+)$/.exec(ok(d.docker(['port', 'pub', '8080'])).trim())?.[1]);
    const r = d.docker([
      'run',
      '-d',
      '--name',
      'clash',
      '-p',
      `127.0.0.1:${port}:8080`,
      'busybox',
      'sleep',
      '60',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('port is already allocated');
    expect(inspect('clash', '{{.State.Running}}')).toBe('false');
    expect(inspect('clash', '{{.NetworkSettings.IPAddress}}')).toBe('');
    ok(d.docker(['rm', 'clash']));
    expect(await httpGet(port)).toBe('hello-pub\n');
  });

  it('-p 8080 picks a free port that docker port reports and that answers, also from a container', async () => {
    ok(d.docker(['run', '-d', '--name', 'rnd', '-p', '8080', 'busybox', 'sh', '-c', HTTPD('hello-rnd')]));
    const out = ok(d.docker(['port', 'rnd', '8080'])).trim();
    const match = /^0\.0\.0\.0:(\d+)$/.exec(out);
    expect(match, out).not.toBeNull();
    const port = Number(match![1]);
    expect(await httpGetEventually(port)).toBe('hello-rnd\n');
    // From a container on the default bridge, through the bridge's gateway.
    const viaGateway = d.docker([
      'run',
      '--rm',
      'busybox',
      'wget',
      '-qO-',
      `http://${d.network.net16}.0.1:${port}`,
    ]);
    expect(ok(viaGateway)).toBe('hello-rnd\n');
  });

  it('-p <host range>:8080 takes the first free port of the range', async () => {
    // Hold the range's first port so the publication has to move on to the next one.
    const holder = createServer();
    await new Promise<void>((resolve, reject) => {
      holder.once('error', reject);
      holder.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    const first = (holder.address() as AddressInfo).port;
    try {
      const range = `127.0.0.1:${first}-${first + 5}:8080`;
      ok(
        d.docker(['run', '-d', '--name', 'ranged', '-p', range, 'busybox', 'sh', '-c', HTTPD('hello-range')]),
      );
      const out = ok(d.docker(['port', 'ranged', '8080'])).trim();
      const port = Number(/^127\.0\.0\.1:(\d+)$/.exec(out)?.[1]);
      expect(port).toBeGreaterThan(first);
      expect(port).toBeLessThanOrEqual(first + 5);
      expect(await httpGetEventually(port)).toBe('hello-range\n');
    } finally {
      d.docker(['rm', '-f', 'ranged']);
      holder.close();
    }
  });

  it('-P publishes every exposed port', async () => {
    ok(
      d.docker([
        'run',
        '-d',
        '--name',
        'all',
        '--expose',
        '8080',
        '-P',
        'busybox',
        'sh',
        '-c',
        HTTPD('hello-all'),
      ]),
    );
    const port = Number(/:(\d+)$/.exec(ok(d.docker(['port', 'all', '8080'])).trim())?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(await httpGetEventually(port)).toBe('hello-all\n');
  });

  it('publishes UDP both ways', async () => {
    const port = await freePort();
    ok(
      d.docker(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${port}:9999/udp`, 'busybox', 'sleep', '300']),
    );
    // Debian's busybox has no UDP server: an echo server runs in the container's namespace.
    const key = inspect('udp', '{{.NetworkSettings.SandboxKey}}');
    const echo = spawn('nsenter', [
      `--net=${key}`,
      process.execPath,
      '-e',
      "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address));s.bind(9999)",
    ]);
    const socket = createSocket('udp4');
    try {
      let reply = '';
      socket.on('message', (msg) => {
        reply = msg.toString();
      });
      for (let i = 0; i < 50 && !reply; i++) {
        await new Promise<void>((resolve) => socket.send('over-udp', port, '127.0.0.1', () => resolve()));
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(reply).toBe('echo:over-udp');
    } finally {
      socket.close();
      echo.kill('SIGKILL');
    }
  });
});

describe('3. network modes', () => {
  it('--network none has only lo', () => {
    const out = ok(d.docker(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']));
    const names = out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[1]?.trim());
    expect(names).toEqual(['lo']);
  });

  it("--network host sees the host's interfaces", () => {
    const host = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
    const hostNames = host
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[1]?.trim().split('@')[0]);
    const out = ok(d.docker(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']));
    for (const name of hostNames.filter((n) => n === 'eth0' || n === d.network.bridge))
      expect(out).toContain(`${name}:`);
  });

  it("--network container:web shares web's interfaces", () => {
    const ip = inspect('web', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
    const addrs = ok(
      d.docker(['run', '--rm', '--network', 'container:web', 'busybox', 'ip', '-o', '-4', 'addr']),
    );
    expect(addrs).toContain(`inet ${ip}/`);
    const page = d.docker([
      'run',
      '--rm',
      '--network',
      'container:web',
      'busybox',
      'wget',
      '-qO-',
      'http://127.0.0.1:8080',
    ]);
    expect(ok(page)).toBe('hello-web\n');
  });

  it('refuses container: with port publishing, and a stopped target', () => {
    const r = d.docker(['run', '--rm', '--network', 'container:web', '-p', '80', 'busybox', 'true']);
    expect(r.status).not.toBe(0);
    ok(d.docker(['create', '--name', 'idle', 'busybox', 'true']));
    const stopped = d.docker(['run', '--rm', '--network', 'container:idle', 'busybox', 'true']);
    expect(stopped.status).not.toBe(0);
    expect(stopped.stderr).toContain('cannot join network of a non running container');
    ok(d.docker(['rm', 'idle']));
  });
});

describe('6. legacy links and internal networks', () => {
  it('--link gives the linked container as environment and hosts entries', () => {
    ok(
      d.docker([
        'run',
        '-d',
        '--name',
        'db',
        '--expose',
        '6379',
        '-e',
        'SECRET=s3',
        'busybox',
        'sleep',
        '300',
      ]),
    );
    const ip = inspect('db', '{{.NetworkSettings.IPAddress}}');
    expect(ip).toMatch(new RegExp(`^${d.network.net16.replace('.', '\\.')}\\.0\\.\\d+$`));
    const env = ok(d.docker(['run', '--rm', '--name', 'client', '--link', 'db:store', 'busybox', 'env']));
    expect(env).toContain(`STORE_PORT_6379_TCP=tcp://${ip}:6379\n`);
    expect(env).toContain('STORE_NAME=/client/store\n');
    expect(env).toContain('STORE_ENV_SECRET=s3\n');
    const hosts = ok(d.docker(['run', '--rm', '--link', 'db:store', 'busybox', 'cat', '/etc/hosts']));
    expect(hosts).toMatch(new RegExp(`\\n${ip.replace(/\./g, '\\.')}\\tstore [0-9a-f]{12} db\\n`));
    expect(
      d.docker(['run', '--rm', '--link', 'db:store', 'busybox', 'ping', '-c1', '-W5', 'store']).status,
    ).toBe(0);
    const missing = d.docker(['run', '--rm', '--link', 'nosuch:x', 'busybox', 'true']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('could not get container for nosuch');
  });

  it('rm --link forgets a link', () => {
    ok(d.docker(['create', '--name', 'linker', '--link', 'db:store', 'busybox', 'true']));
    ok(d.docker(['rm', '--link', '/linker/store']));
    expect(inspect('linker', '{{.HostConfig.Links}}')).toBe('[]');
    ok(d.docker(['rm', 'linker', '-f']));
    ok(d.docker(['rm', '-f', 'db']));
  });

  it('an --internal network has no default route', () => {
    ok(d.docker(['network', 'create', '--internal', 'sealed']));
    const routes = ok(d.docker(['run', '--rm', '--network', 'sealed', 'busybox', 'ip', 'route']));
    expect(routes).not.toContain('default');
    expect(inspect('sealed', '{{.Internal}}')).toBe('true');
    ok(d.docker(['network', 'rm', 'sealed']));
  });
});

describe('5. addresses and networks survive a restart and a crash', () => {
  // Exits at once on SIGTERM, so the daemon's shutdown does not wait out its stop timeout.
  const idle = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'];

  it('keeps networks, subnets and distinct addresses across a restart', async () => {
    // The earlier cases' containers are done with; the restart only has to stop these.
    const earlier = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (earlier.length) ok(d.docker(['rm', '-f', ...earlier]));
    ok(d.docker(['network', 'create', 'persist']));
    const subnet = inspect('persist', '{{(index .IPAM.Config 0).Subnet}}');
    const bridgeSubnet = inspect('bridge', '{{(index .IPAM.Config 0).Subnet}}');
    ok(d.docker(['run', '-d', '--name', 'p1', '--network', 'persist', 'busybox', ...idle]));
    ok(d.docker(['run', '-d', '--name', 'p2', '--network', 'persist', 'busybox', ...idle]));
    await d.restart();
    const names = ok(d.docker(['network', 'ls', '--format', '{{.Name}}']))
      .split('\n')
      .filter(Boolean);
    expect(names.filter((n) => n === 'persist')).toHaveLength(1);
    expect(names.filter((n) => n === 'bridge')).toHaveLength(1);
    expect(inspect('persist', '{{(index .IPAM.Config 0).Subnet}}')).toBe(subnet);
    expect(inspect('bridge', '{{(index .IPAM.Config 0).Subnet}}')).toBe(bridgeSubnet);
    ok(d.docker(['start', 'p1', 'p2']));
    ok(d.docker(['run', '-d', '--name', 'p3', '--network', 'persist', 'busybox', ...idle]));
    const ips = ['p1', 'p2', 'p3'].map((c) =>
      inspect(c, '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'),
    );
    expect(new Set(ips).size).toBe(3);
    expect(inspect('persist', '{{len .Containers}}')).toBe('3');
  }, 300_000);

  it('releases what a crashed daemon held, and starts cleanly again', async () => {
    d.process.kill('SIGKILL');
    await d.restart();
    expect(inspect('persist', '{{len .Containers}}')).toBe('0');
    ok(d.docker(['start', 'p1']));
    expect(
      d.docker(['exec', 'p1', 'ping', '-c1', '-W5', inspect('persist', '{{(index .IPAM.Config 0).Gateway}}')])
        .status,
    ).toBe(0);
    ok(d.docker(['rm', '-f', 'p1', 'p2', 'p3']));
    ok(d.docker(['network', 'rm', 'persist']));
  }, 300_000);
});

describe('4. nothing of ours is left behind', () => {
  it('after removing all containers and networks, only the default bridge remains; after stop, nothing', async () => {
    const all = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (all.length) ok(d.docker(['rm', '-f', ...all]));
    const pruned = ok(d.docker(['network', 'prune', '-f']));
    expect(pruned).toContain('Deleted Networks:');
    expect(pruned).toContain('front\n');
    expect(pruned).toContain('other\n');
    expect(
      ok(d.docker(['network', 'ls', '--format', '{{.Name}}']))
        .split('\n')
        .sort(),
    ).toEqual(['', 'bridge', 'host', 'none']);
    expect(leftoverLinks(d.network)).toEqual([d.network.bridge]);
    expect(netnsList()).toBe(netnsBefore);
    const netnsDir = join(d.execRoot, 'netns');
    expect(existsSync(netnsDir) ? readdirSync(netnsDir) : []).toEqual([]);
    // Only the default bridge's own rules are left while the daemon runs.
    expect(
      leftoverRules(d.network).filter(
        (l) => l.includes(`${d.network.linkPrefixes[0]}-`) || l.includes('DNAT'),
      ),
    ).toEqual([]);
    expect(await d.terminate()).toBe(0);
    expect(leftoverLinks(d.network)).toEqual([]);
    expect(leftoverRules(d.network)).toEqual([]);
    expect(netnsList()).toBe(netnsBefore);
  });
});
