/**
 * The embedded DNS server of a user-defined network. Docker runs one inside every container at
 * 127.0.0.11; a Node daemon cannot listen inside another network namespace (no setns), so
 * tsdocker listens on the network's gateway address (port 53, UDP and TCP) in the host's
 * namespace and writes that address into the containers' resolv.conf (docs/adr/0003).
 *
 * Answers: A for container names, short ids and aliases on the networks of the asking container
 * (`name` and `name.<network>`), an empty answer for their AAAA, PTR for their addresses.
 * Single-label names it does not know are NXDOMAIN (they would only leak to the outside); every
 * other query is relayed as-is to the host's resolvers (or the container's `--dns` servers),
 * from the host's namespace, so loopback resolvers such as systemd-resolved work.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Logger } from '../drivers/descriptor.js';

/** What the server asks the daemon for each query. */
export interface DnsResolver {
  /** Only the network's own containers are served: the server is no open resolver. */
  allowed(client: string): boolean;
  /** Addresses for `name` as seen by `client`; undefined when the name is not ours. */
  lookup(name: string, client: string): string[] | undefined;
  /** The name for an address of ours (reverse lookups), if any. */
  reverse(ip: string, client: string): string | undefined;
  /** Where to relay other queries from `client`. */
  upstreams(client: string): string[];
}

const TTL = 600;
const UPSTREAM_TIMEOUT_MS = 3000;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

function reply(query: dnsPacket.DecodedPacket, answers: dnsPacket.Answer[], rcode = 0): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags: (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: query.questions,
    answers,
  });
}

function ptrToIp(name: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/i.exec(name);
  return m ? `${m[4]}.${m[3]}.${m[2]}.${m[1]}` : undefined;
}

/** Sends a query to the first upstream that answers. */
function relay(message: Buffer, upstreams: string[]): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const servers = [...upstreams];
    const family = net.isIPv6(servers[0] ?? '') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket(family);
    let timer: NodeJS.Timeout | undefined;
    const finish = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const next = () => {
      const server = servers.shift();
      if (!server || net.isIPv6(server) !== (family === 'udp6')) return finish(undefined);
      socket.send(message, 53, server, (err) => {
        if (err) next();
      });
      clearTimeout(timer);
      timer = setTimeout(next, UPSTREAM_TIMEOUT_MS);
    };
    socket.on('message', (msg) => finish(msg));
    socket.on('error', () => finish(undefined));
    next();
  });
}

export class DnsServer {
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;

  constructor(
    readonly address: string,
    private readonly resolver: DnsResolver,
    private readonly logger: Logger,
    private readonly port = 53,
  ) {}

  async start(): Promise<void> {
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: this.address, port: this.port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) =>
      this.logger.warn('dns socket error', { address: this.address, error: String(err) }),
    );
    udp.on('message', (msg, rinfo) => {
      this.answer(msg, rinfo.address)
        .then((out) => out && udp.send(out, rinfo.port, rinfo.address))
        .catch(() => {});
    });
    this.udp = udp;
    const tcp = net.createServer((socket) => this.serveTcp(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: this.address, port: this.port }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
  }

  private serveTcp(socket: net.Socket): void {
    let buffered = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        this.answer(msg, socket.remoteAddress ?? '')
          .then((out) => {
            if (!out || socket.destroyed) return;
            const framed = Buffer.alloc(2 + out.length);
            framed.writeUInt16BE(out.length, 0);
            out.copy(framed, 2);
            socket.write(framed);
          })
          .catch(() => socket.destroy());
      }
    });
  }

  /** The reply to one message, or undefined to stay silent (garbage in). */
  async answer(message: Buffer, client: string): Promise<Buffer | undefined> {
    if (!this.resolver.allowed(client.replace(/^::ffff:/, ''))) return undefined;
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return undefined;
    }
    if (query.type !== 'query') return undefined;
    const question = query.questions?.[0];
    if (!question) return reply(query, [], RCODE_SERVFAIL);
    const name = question.name.replace(/\.$/, '').toLowerCase();
    if (question.type === 'PTR') {
      const ip = ptrToIp(name);
      const target = ip ? this.resolver.reverse(ip, client) : undefined;
      if (target) return reply(query, [{ type: 'PTR', name: question.name, ttl: TTL, data: target }]);
    } else {
      const addresses = this.resolver.lookup(name, client);
      if (addresses) {
        if (question.type === 'A' || (question.type as string) === 'ANY') {
          return reply(
            query,
            addresses.map((data) => ({ type: 'A' as const, name: question.name, ttl: TTL, data })),
          );
        }
        return reply(query, []);
      }
      if (!name.includes('.')) return reply(query, [], RCODE_NXDOMAIN);
    }
    const upstreams = this.resolver.upstreams(client);
    const relayed = upstreams.length ? await relay(message, upstreams) : undefined;
    return relayed ?? reply(query, [], RCODE_SERVFAIL);
  }

  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}
