/**
 * The userland proxy (Docker's docker-proxy, inside the daemon): listens on the published host
 * address and port and relays to the container. It serves what NAT cannot: 127.0.0.1 (the kernel
 * does not route loopback to a bridge without route_localnet) and containers reaching a port
 * published by a container on their own bridge. Its socket also holds the host port, so a port
 * taken by anyone else fails the publication at once ("port is already allocated").
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface ProxyTarget {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  /** 0 picks a free port; read `port` after `start`. */
  hostPort: number;
  containerIp: string;
  containerPort: number;
  /** false: hold the port only (the kernel's NAT serves the traffic). */
  relay: boolean;
}

const UDP_IDLE_MS = 90_000;

export interface PortProxy {
  readonly port: number;
  close(): Promise<void>;
}

/** A host port someone else holds (a range then tries its next port). */
export class PortInUseError extends Error {}

function listenError(target: ProxyTarget, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EADDRINUSE')
    return new PortInUseError(
      `Bind for ${target.hostIp}:${target.hostPort} failed: port is already allocated`,
    );
  if (err.code === 'EADDRNOTAVAIL')
    return new Error(`Bind for ${target.hostIp}:${target.hostPort} failed: cannot assign requested address`);
  return new Error(`Bind for ${target.hostIp}:${target.hostPort} failed: ${err.message}`);
}

async function tcpProxy(target: ProxyTarget): Promise<PortProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (!target.relay) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: target.containerIp, port: target.containerPort });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(target, err)));
    server.listen({ host: target.hostIp, port: target.hostPort, exclusive: true }, () => resolve());
  });
  server.on('error', () => {});
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function udpProxy(target: ProxyTarget): Promise<PortProxy> {
  const socket = dgram.createSocket('udp4');
  // One upstream socket per client address, so replies find their way back.
  const flows = new Map<string, { upstream: dgram.Socket; timer: NodeJS.Timeout }>();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(listenError(target, err)));
    socket.bind({ address: target.hostIp, port: target.hostPort, exclusive: true }, () => resolve());
  });
  socket.on('error', () => {});
  socket.on('message', (msg, rinfo) => {
    if (!target.relay) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let flow = flows.get(key);
    if (!flow) {
      const upstream = dgram.createSocket('udp4');
      upstream.on('message', (reply) => socket.send(reply, rinfo.port, rinfo.address));
      upstream.on('error', () => {});
      flow = { upstream, timer: setTimeout(() => {}, 0) };
      flows.set(key, flow);
    }
    clearTimeout(flow.timer);
    const current = flow;
    current.timer = setTimeout(() => {
      flows.delete(key);
      current.upstream.close();
    }, UDP_IDLE_MS);
    current.timer.unref();
    current.upstream.send(msg, target.containerPort, target.containerIp);
  });
  const port = socket.address().port;
  return {
    port,
    close: async () => {
      for (const flow of flows.values()) {
        clearTimeout(flow.timer);
        flow.upstream.close();
      }
      flows.clear();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

export function startProxy(target: ProxyTarget): Promise<PortProxy> {
  return target.protocol === 'udp' ? udpProxy(target) : tcpProxy(target);
}
