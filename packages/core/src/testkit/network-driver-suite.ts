/**
 * The network driver conformance kit: real bridges, veths, namespaces and published ports,
 * checked from inside sandboxes the suite makes itself. Run it as root; it fails (never skips)
 * otherwise. Traffic only goes to loopback and to the suite's own namespaces.
 *
 *   networkDriverSuite('bridge', async (root, names) => {
 *     const driver = await bridge.create(await networkDriverContext(root, bridge), bridge.parseOptions!(names.options));
 *     return { driver, dispose: () => driver.close() };
 *   });
 *
 * `names.options` are the bridge driver's naming options (chain, bridge and veth prefixes unique
 * to the case, no ip_forward); a driver with other options maps them to its own. Every case
 * removes what it made — sandboxes, interfaces and firewall chains — by those names.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DriverContext, DriverDescriptor, Logger } from '../drivers/descriptor.js';
import { makeDriverContext } from '../drivers/loader.js';
import type { NetworkConfig, NetworkDriver } from '../drivers/network-driver.js';
import { hostRouteSubnets } from '../network/host-routes.js';
import { formatIp, overlaps } from '../network/ipv4.js';
import { Sandboxes } from '../network/sandbox.js';
import { HOST_BUSYBOX } from './busybox-rootfs.js';

const run = promisify(execFile);

export interface NetworkDriverHarness {
  driver: NetworkDriver;
  /** Releases the driver (close it); the suite checks nothing was left behind. */
  dispose(): Promise<void>;
}

export interface NetworkTestNames {
  /** 6 hex chars unique to the case. */
  tag: string;
  options: Record<string, string | boolean>;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function networkDriverContext(root: string, descriptor: DriverDescriptor): Promise<DriverContext> {
  return makeDriverContext(descriptor, {
    dataRoot: join(root, 'data'),
    execRoot: join(root, 'exec'),
    logger: silentLogger,
  });
}

/** A /24 in 10.200.0.0/13 that no host route covers. */
async function freeSubnet(
  taken: string[],
): Promise<{ subnet: string; gateway: string; host: (n: number) => string }> {
  const routes = await hostRouteSubnets(new Set());
  for (let i = 0; i < 200; i++) {
    const base =
      ((10 << 24) |
        ((200 + Math.floor(Math.random() * 8)) << 16) |
        (Math.floor(Math.random() * 256) << 8)) >>>
      0;
    const subnet = `${formatIp(base)}/24`;
    if (taken.includes(subnet) || routes.some((r) => overlaps(r, { base, bits: 24 }))) continue;
    return { subnet, gateway: formatIp(base + 1), host: (n) => formatIp(base + n) };
  }
  throw new Error('no free /24 in 10.200.0.0/13 for the network driver suite');
}

async function sh(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args);
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const inSandbox = (key: string, args: string[]) => sh('nsenter', [`--net=${key}`, ...args]);

async function links(): Promise<string[]> {
  const { out } = await sh('ip', ['-o', 'link', 'show']);
  return out
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
}

async function ruleset(): Promise<string> {
  const { out } = await sh('iptables-save', []);
  return out;
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

export function networkDriverSuite(
  name: string,
  factory: (root: string, names: NetworkTestNames) => Promise<NetworkDriverHarness>,
): void {
  describe(`network driver conformance: ${name}`, () => {
    let root: string;
    let names: NetworkTestNames;
    let harness: NetworkDriverHarness | null;
    let sandboxes: Sandboxes;
    const madeSandboxes: string[] = [];
    const servers: Array<ReturnType<typeof spawn>> = [];

    beforeEach(async () => {
      if (process.getuid?.() !== 0) throw new Error('the network driver suite must run as root');
      root = await mkdtemp(join(tmpdir(), 'tsd-netkit-'));
      const tag = randomBytes(3).toString('hex');
      names = {
        tag,
        options: {
          'chain-prefix': `TSDT${tag.toUpperCase()}`,
          'bridge-prefix': `tb${tag}-`,
          'veth-prefix': `tv${tag}`,
          'ip-forward': false,
        },
      };
      sandboxes = new Sandboxes(join(root, 'netns'));
      harness = await factory(root, names);
    });

    afterEach(async () => {
      for (const s of servers.splice(0)) s.kill('SIGKILL');
      await harness?.dispose().catch(() => {});
      harness = null;
      for (const id of madeSandboxes.splice(0)) await sandboxes.remove(id);
      // By our names, whatever a failing case left.
      for (const l of await links()) {
        if (l.startsWith(`tb${names.tag}`) || l.startsWith(`tv${names.tag}`))
          await sh('ip', ['link', 'del', l]);
      }
      await rm(root, { recursive: true, force: true });
    });

    const driver = () => harness!.driver;

    async function network(id: string, taken: string[] = [], internal = false) {
      const net = await freeSubnet(taken);
      const config: NetworkConfig = {
        id: `${names.tag}${id}`.padEnd(64, '0'),
        name: `n${id}`,
        options: {},
        subnet: net.subnet,
        gateway: net.gateway,
        internal,
        isDefault: false,
      };
      const info = await driver().createNetwork(config);
      return { ...net, config, info };
    }

    async function sandbox(): Promise<string> {
      const id = randomBytes(32).toString('hex');
      madeSandboxes.push(id);
      return sandboxes.create(id);
    }

    async function endpoint(
      net: Awaited<ReturnType<typeof network>>,
      n: number,
      key: string,
      ifName = 'eth0',
    ) {
      const id = randomBytes(32).toString('hex');
      const address = `${net.host(n)}/24`;
      await driver().createEndpoint(net.config.id, {
        id,
        containerId: id,
        address,
        macAddress: `02:42:0a:00:00:${n.toString(16).padStart(2, '0')}`,
      });
      await driver().join(net.config.id, id, {
        sandboxKey: key,
        interfaceName: ifName,
        defaultGateway: net.gateway,
      });
      return id;
    }

    it('creates a network as an interface holding the gateway, and removes it', async () => {
      const net = await network('01');
      expect(net.info.interfaceName).toBeTruthy();
      const ifName = net.info.interfaceName!;
      expect(await links()).toContain(ifName);
      const { out } = await sh('ip', ['-4', '-o', 'addr', 'show', 'dev', ifName]);
      expect(out).toContain(`${net.gateway}/24`);
      await driver().deleteNetwork(net.config.id);
      expect(await links()).not.toContain(ifName);
      await driver().deleteNetwork(net.config.id);
    });

    it('joins an endpoint into a sandbox with its address, MAC and default route', async () => {
      const net = await network('02');
      const key = await sandbox();
      await endpoint(net, 2, key);
      const addr = await inSandbox(key, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      expect(addr.out).toContain(`${net.host(2)}/24`);
      expect((await inSandbox(key, ['ip', 'link', 'show', 'eth0'])).out).toContain('02:42:0a:00:00:02');
      expect((await inSandbox(key, ['ip', 'route'])).out).toContain(`default via ${net.gateway}`);
      expect((await inSandbox(key, [HOST_BUSYBOX, 'ping', '-c1', '-W5', net.gateway])).ok).toBe(true);
    });

    it('lets two endpoints on one network reach each other, and leave takes the interface away', async () => {
      const net = await network('03');
      const a = await sandbox();
      const b = await sandbox();
      const epA = await endpoint(net, 2, a);
      await endpoint(net, 3, b);
      expect((await inSandbox(a, [HOST_BUSYBOX, 'ping', '-c1', '-W5', net.host(3)])).ok).toBe(true);
      await driver().leave(net.config.id, epA);
      expect((await inSandbox(a, ['ip', 'link', 'show', 'eth0'])).ok).toBe(false);
      await driver().leave(net.config.id, epA);
      await driver().deleteEndpoint(net.config.id, epA);
      await driver().deleteEndpoint(net.config.id, epA);
    });

    it('finishes a leave whose sandbox is going before a later join on the network, and before the network goes', async () => {
      const net = await network('08');
      const a = await sandbox();
      const before = new Set(await links());
      const epA = await endpoint(net, 2, a);
      const hostSide = (await links()).filter((l) => !before.has(l));
      expect(hostSide).toHaveLength(1); // the bridge-side end of the pair
      await driver().leave(net.config.id, epA, { sandboxGoing: true });
      // The same address again, in another sandbox (`--ip`): its join waits for the deletion.
      const b = await sandbox();
      await endpoint(net, 2, b);
      expect(await links()).not.toContain(hostSide[0]);
      expect((await inSandbox(a, ['ip', 'link', 'show', 'eth0'])).ok).toBe(false);
      expect((await inSandbox(b, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).out).toContain(
        `${net.host(2)}/24`,
      );
      const c = await sandbox();
      const epC = await endpoint(net, 3, c);
      const withC = new Set(await links());
      await driver().leave(net.config.id, epC, { sandboxGoing: true });
      await driver().deleteNetwork(net.config.id);
      const after = await links();
      expect([...withC].filter((l) => !before.has(l) && after.includes(l))).toEqual([]);
    });

    it('keeps two networks apart', async () => {
      const one = await network('04');
      const two = await network('05', [one.subnet]);
      const a = await sandbox();
      const b = await sandbox();
      await endpoint(one, 2, a);
      await endpoint(two, 2, b);
      expect((await inSandbox(a, [HOST_BUSYBOX, 'ping', '-c1', '-W2', two.host(2)])).ok).toBe(false);
    });

    it('publishes a TCP port on loopback, picks a free port for 0, and withdraws it', async () => {
      const net = await network('06');
      const key = await sandbox();
      const ep = await endpoint(net, 2, key);
      const www = join(root, 'www');
      await run('mkdir', ['-p', www]);
      await writeFile(join(www, 'index.html'), `hello from ${names.tag}\n`);
      const server = spawn(
        'nsenter',
        [`--net=${key}`, HOST_BUSYBOX, 'httpd', '-f', '-p', '8080', '-h', www],
        {
          stdio: 'ignore',
        },
      );
      servers.push(server);
      const [mapping] = await driver().publishPorts(net.config.id, ep, [
        { protocol: 'tcp', containerPort: 8080, hostIp: '127.0.0.1', hostPort: 0 },
      ]);
      expect(mapping?.hostPort).toBeGreaterThan(0);
      expect(mapping?.containerIp).toBe(net.host(2));
      let body = '';
      for (let i = 0; i < 50 && !body; i++) {
        body = await httpGet(mapping!.hostPort).catch(() => '');
        if (!body) await new Promise((r) => setTimeout(r, 100));
      }
      expect(body).toBe(`hello from ${names.tag}\n`);
      // The same host port again is refused, and leaves nothing behind.
      await expect(
        driver().publishPorts(net.config.id, ep, [
          { protocol: 'tcp', containerPort: 8080, hostIp: '127.0.0.1', hostPort: mapping!.hostPort },
        ]),
      ).rejects.toThrow(/port is already allocated/);
      await driver().unpublishPorts(net.config.id, ep);
      await expect(httpGet(mapping!.hostPort)).rejects.toThrow();
    });

    it('leaves no interface and no firewall chain of its own after close', async () => {
      const net = await network('07');
      const key = await sandbox();
      await endpoint(net, 2, key);
      await harness!.dispose();
      harness = null;
      const left = (await links()).filter(
        (l) => l.startsWith(`tb${names.tag}`) || l.startsWith(`tv${names.tag}`),
      );
      expect(left).toEqual([]);
      expect(await ruleset()).not.toContain(`TSDT${names.tag.toUpperCase()}`);
    });
  });
}
