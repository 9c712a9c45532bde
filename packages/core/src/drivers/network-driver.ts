/**
 * Network drivers, after libnetwork. Core owns the model; a driver only carries it out in the
 * kernel:
 *
 * - A **network** is a broadcast domain with an IPv4 subnet and a gateway (a Linux bridge for the
 *   `bridge` driver). Core keeps the network store and does IPAM: it picks subnets from the
 *   daemon's pools and addresses inside them, persists them, and hands the driver final values.
 * - An **endpoint** is one container's attachment to one network: an address (CIDR), a MAC
 *   address and, once joined, an interface inside the container's sandbox.
 * - A **sandbox** is the container's network namespace. Core creates it before the container
 *   starts and bind-mounts it at a path under the exec root (`<exec-root>/netns/<id>`); the exec
 *   driver joins that path through the spec's network namespace `path`, and the network driver
 *   puts interfaces into it by the same path. Loopback is up before the driver sees it.
 * - **Port publishing** makes a host address and port reach an endpoint's address and port
 *   (kernel NAT, a userland proxy, or both). Core decides which container ports are published;
 *   the driver picks host ports when asked for "any" and reports what it bound.
 *
 * Call order for a container: `createEndpoint` → `join` → `publishPorts` when it starts;
 * `unpublishPorts` → `leave` → `deleteEndpoint` when it stops. Every call is idempotent in its
 * "undo" direction (deleting what is already gone succeeds), because core calls the undo steps
 * again after a crash. A driver must leave nothing in the kernel after `deleteNetwork` and `close`.
 */

/** What core tells a driver about a network. Addresses are IPv4 in CIDR or dotted form. */
export interface NetworkConfig {
  /** 64-hex network id; drivers derive kernel names from it when no name is given. */
  id: string;
  /** The network's name (`bridge`, `mynet`). */
  name: string;
  /** Driver options from `docker network create -o` (e.g. `com.docker.network.bridge.name`). */
  options: Record<string, string>;
  /** The subnet in CIDR form (`172.18.0.0/16`). */
  subnet: string;
  /** The gateway address inside the subnet (`172.18.0.1`); the driver assigns it to the host side. */
  gateway: string;
  /** Internal networks get no route to the outside and no published ports. */
  internal: boolean;
  /** True for the daemon's default network (`bridge`); its kernel name comes from the config. */
  isDefault: boolean;
}

/** What the driver reports about a network once created (shown in `network inspect`). */
export interface NetworkInfo {
  /** Kernel interface that carries the network (the bridge's name), if any. */
  interfaceName?: string;
  /** Options the driver applied, merged into the network's `Options` (e.g. the bridge name). */
  options?: Record<string, string>;
}

export interface EndpointConfig {
  /** 64-hex endpoint id. */
  id: string;
  /** The id of the container that owns it (drivers use it only for naming and logs). */
  containerId: string;
  /** The endpoint's address with prefix length (`172.18.0.2/16`). */
  address: string;
  /** `02:42:ac:12:00:02`-style MAC address, chosen by core. */
  macAddress: string;
}

export interface JoinOptions {
  /** The sandbox: a bind-mounted network namespace file. */
  sandboxKey: string;
  /** The interface name inside the sandbox (`eth0`, `eth1`, …). */
  interfaceName: string;
  /** When set, the endpoint provides the sandbox's default route through this gateway address. */
  defaultGateway?: string;
}

export interface LeaveOptions {
  /**
   * The sandbox is being removed too (its container has stopped): the driver may finish
   * deleting the interface after `leave` returns, as long as it is gone before `deleteNetwork`
   * or `close` return and before a later `join` on that network goes ahead.
   */
  sandboxGoing?: boolean;
}

export type PortProtocol = 'tcp' | 'udp';

/** A requested publication; `hostPort` 0 means "pick a free one". */
export interface PortBindingRequest {
  protocol: PortProtocol;
  containerPort: number;
  /** Host address to bind, `0.0.0.0` for all IPv4 addresses. */
  hostIp: string;
  hostPort: number;
  /** With `hostPort`, a range (`-p 8000-8010:80`): the first free port from hostPort to this. */
  hostPortEnd?: number;
}

/** A publication as made: always a concrete host port. */
export interface PortMapping extends PortBindingRequest {
  /** The endpoint address the traffic goes to. */
  containerIp: string;
}

export interface NetworkDriver {
  /** Short name, as in `docker network ls` (`bridge`). */
  readonly name: string;
  /**
   * Creates a network's kernel state (bridge, addresses, firewall rules), or adopts it when it
   * already exists from an earlier run. Throws a TsdockerError when the kernel refuses (e.g. the
   * interface name is taken by something that is not ours), leaving nothing behind.
   */
  createNetwork(config: NetworkConfig): Promise<NetworkInfo>;
  /** Removes everything `createNetwork` made. Idempotent. */
  deleteNetwork(networkId: string): Promise<void>;
  /** Registers an endpoint on a network; nothing enters a sandbox until `join`. */
  createEndpoint(networkId: string, endpoint: EndpointConfig): Promise<void>;
  /** Removes an endpoint and whatever is left of its interfaces. Idempotent. */
  deleteEndpoint(networkId: string, endpointId: string): Promise<void>;
  /** Puts the endpoint's interface into the sandbox with its address (and default route). */
  join(networkId: string, endpointId: string, options: JoinOptions): Promise<void>;
  /** Takes the endpoint's interface out of the sandbox (deletes it). Idempotent. */
  leave(networkId: string, endpointId: string, options?: LeaveOptions): Promise<void>;
  /**
   * Publishes ports to a joined endpoint. All or nothing: when one binding fails (the port is
   * taken) the ones made so far are undone and the error says which host address failed.
   */
  publishPorts(networkId: string, endpointId: string, bindings: PortBindingRequest[]): Promise<PortMapping[]>;
  /** Withdraws every publication of the endpoint. Idempotent. */
  unpublishPorts(networkId: string, endpointId: string): Promise<void>;
  /** Called once at daemon shutdown: removes every kernel object and rule the driver made. */
  close(): Promise<void>;
}
