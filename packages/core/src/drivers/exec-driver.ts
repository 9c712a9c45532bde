/**
 * Running processes in containers. Core builds a complete, OCI-flavoured `ContainerSpec` (every
 * mount including /proc and /dev, devices, namespaces, cgroup resources, user, env); the exec
 * driver only carries it out. That split (moby builds the spec, runc executes it) keeps Docker's
 * defaults in one place and lets an exec driver on another runtime reuse them.
 *
 * A started container's init process is represented by a `ProcessHandle`. The driver reports the
 * exit status through `handle.exited`, which resolves only after every byte of output has been
 * delivered on `stdout`/`stderr`, so the daemon can record the exit code before it closes
 * attached streams.
 */
import type { Readable, Writable } from 'node:stream';

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'cgroup';

export interface NamespaceSpec {
  type: NamespaceType;
  /** Join this existing namespace (e.g. a network namespace prepared by a network driver). */
  path?: string;
}

export interface MountSpec {
  /** Absolute path inside the container. */
  destination: string;
  /** `bind`, `proc`, `sysfs`, `tmpfs`, `devpts`, `mqueue`, `cgroup`, … */
  type: string;
  /** Host path for binds; the fs name otherwise. */
  source: string;
  /** mount(8)-style options: `ro`, `nosuid`, `nodev`, `noexec`, `rbind`, `mode=755`, `size=…`. */
  options: string[];
}

export interface DeviceSpec {
  /** Path inside the container, e.g. `/dev/null`. */
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  /** Permission bits, e.g. 0o666. */
  fileMode: number;
  uid: number;
  gid: number;
}

export interface UserSpec {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/** A resource limit (`--ulimit`), set with setrlimit before exec. -1 means unlimited. */
export interface RlimitSpec {
  /** `RLIMIT_NOFILE`, `RLIMIT_NPROC`, … (OCI's names). */
  type: string;
  soft: number;
  hard: number;
}

export interface ProcessSpec {
  /** argv; args[0] is looked up in the container's PATH (from `env`) when it has no slash. */
  args: string[];
  /** `KEY=value` entries; the whole environment of the process. */
  env: string[];
  /** Absolute working directory inside the container; created if missing. */
  cwd: string;
  user: UserSpec;
  /** Run on a new pseudo-terminal (stdout and stderr merged, no `stderr` stream). */
  terminal: boolean;
  consoleSize?: { rows: number; cols: number };
  /** Keep stdin open and expose `handle.stdin`; otherwise the process reads /dev/null. */
  openStdin: boolean;
  /**
   * Capability names (`CAP_CHOWN`, …) the process keeps in its bounding, permitted and effective
   * sets; inheritable and ambient stay empty. Absent: Docker's default set. For `exec`, absent
   * means the container's own set (what its init got).
   */
  capabilities?: string[];
  /** Set no_new_privs before exec (`--security-opt no-new-privileges`). For `exec`, absent means
   * the container's own setting. */
  noNewPrivileges?: boolean;
  /** Resource limits; absent ones are inherited from the daemon. For `exec`, absent means the
   * container's own. */
  rlimits?: RlimitSpec[];
}

/** Linux cgroup limits. Absent fields mean "no limit". */
export interface Resources {
  /** Memory limit in bytes (`--memory`). */
  memory?: number;
  /** Memory + swap limit in bytes; -1 for unlimited swap (`--memory-swap`). */
  memorySwap?: number;
  /** Relative CPU weight (`--cpu-shares`, v1 scale 2–262144). */
  cpuShares?: number;
  /** CFS quota and period in microseconds (`--cpus` is turned into these by core). */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** Maximum number of tasks (`--pids-limit`); 0 or negative means unlimited. */
  pidsLimit?: number;
  /**
   * The device cgroup, as ordered allow/deny rules (OCI's `linux.resources.devices`; the first is
   * usually "deny all"). Drivers append the runtime's own always-allowed devices (runc's
   * AllowedDevices: null, zero, full, random, urandom, tty, ptmx, pts, tun, mknod of anything).
   * Absent: deny all but those and the spec's `devices`.
   */
  devices?: DeviceRule[];
}

/** One device cgroup rule; `major`/`minor` absent means any (`*`). */
export interface DeviceRule {
  allow: boolean;
  /** `a` (all), `c` (char) or `b` (block). */
  type: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  /** Some of `r`, `w`, `m`. */
  access: string;
}

/** libseccomp's action names, as in OCI's `linux.seccomp`. */
export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

/** A comparison of one syscall argument; for MASKED_EQ, `(arg & value) == valueTwo`. */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface SeccompSyscall {
  names: string[];
  action: SeccompAction;
  /** The errno for SCMP_ACT_ERRNO (default EPERM). */
  errnoRet?: number;
  /** All must hold (AND); rules naming the same syscall are alternatives (OR). */
  args?: SeccompArg[];
}

/**
 * A resolved seccomp filter (OCI's `linux.seccomp`): core has already evaluated a Docker profile's
 * `includes`/`excludes` against the container's capabilities, the architecture and the kernel.
 * Syscall names the driver does not know for an architecture are ignored, as libseccomp does.
 */
export interface SeccompSpec {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** `SCMP_ARCH_X86_64`, `SCMP_ARCH_X86`, `SCMP_ARCH_X32`, …; other architectures are refused. */
  architectures: string[];
  /** `SECCOMP_FILTER_FLAG_LOG`, `SECCOMP_FILTER_FLAG_SPEC_ALLOW`, … */
  flags?: string[];
  syscalls: SeccompSyscall[];
}

export interface ContainerSpec {
  /** The container's 64-hex id; drivers name their per-container state after it. */
  id: string;
  /** Host path of the container's mounted root filesystem. */
  rootfs: string;
  readonlyRootfs: boolean;
  hostname: string;
  domainname: string;
  process: ProcessSpec;
  /** Every mount, in order, including the defaults (/proc, /dev, /dev/pts, /sys, …). */
  mounts: MountSpec[];
  /** Device nodes to create under /dev (Docker's defaults plus `--device`). */
  devices: DeviceSpec[];
  namespaces: NamespaceSpec[];
  resources: Resources;
  /** Paths inside the container to hide (masked) or make read-only, as in OCI's `linux`. */
  maskedPaths: string[];
  readonlyPaths: string[];
  /** The seccomp filter every process of the container runs under; absent: none (unconfined). */
  seccomp?: SeccompSpec;
  /** Namespaced kernel parameters to set (`net.*`, `kernel.shm*`, …), written under /proc/sys. */
  sysctl?: Record<string, string>;
}

export interface ExitStatus {
  /** The exit code, or 128 + signal number for a signal death (137 for SIGKILL). */
  exitCode: number;
  /** Signal name when the process was killed by a signal (`SIGKILL`). */
  signal?: string;
  /** True when the kernel's OOM killer ended it. */
  oomKilled: boolean;
  finishedAt: Date;
}

export interface ProcessHandle {
  /** Host pid of the process (the container's init for `start`). */
  readonly pid: number;
  /** Present only when `openStdin` was requested. Ending it closes the process's stdin. */
  readonly stdin: Writable | null;
  /** The process's stdout, or the terminal's output when `terminal` is set. */
  readonly stdout: Readable;
  /** The process's stderr; null when `terminal` is set. */
  readonly stderr: Readable | null;
  /** Resizes the terminal; a no-op without one. */
  resize(rows: number, cols: number): Promise<void>;
  /** Sends a signal (number, or name with or without `SIG`). A no-op once the process is gone. */
  signal(signal: number | string): Promise<void>;
  /** Resolves once the process has exited and all its output has been delivered. */
  readonly exited: Promise<ExitStatus>;
}

/** Live figures for `docker stats`-style reporting; optional for drivers. */
export interface ContainerStats {
  memoryUsage?: number;
  memoryLimit?: number;
  cpuUsageNanos?: number;
  pids?: number;
}

export interface ExecDriver {
  /** Short name, shown by `docker info` (`native`). */
  readonly name: string;
  /**
   * Starts a container's init process. Resolves once the process has been exec'd, rejects when
   * it could not be (a TsdockerError whose message says why, e.g. `exec: "x": executable file not
   * found in $PATH`). Nothing is left behind when it rejects.
   */
  start(spec: ContainerSpec): Promise<ProcessHandle>;
  /** Runs an extra process inside the running container `containerId` (all its namespaces and
   * its cgroup). Same resolution rules as `start`. */
  exec(containerId: string, process: ProcessSpec): Promise<ProcessHandle>;
  /** Host pids of every process in the container (for `top`). */
  processes(containerId: string): Promise<number[]>;
  stats?(containerId: string): Promise<ContainerStats>;
  /** Freezes / thaws every process of the container. */
  pause?(containerId: string): Promise<void>;
  resume?(containerId: string): Promise<void>;
  /** Releases what the driver holds for a container that has exited (cgroups, state). Idempotent. */
  cleanup(containerId: string): Promise<void>;
  /** Called once at daemon shutdown. */
  close(): Promise<void>;
}
