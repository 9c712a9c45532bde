/**
 * Encodes what the shim must do as its spec file: NUL-terminated `key=value` records (trivial to
 * parse in C, and any byte but NUL may appear in a value). The C reader is native/spec.c; the two
 * must agree on SPEC_VERSION and the keys.
 */
import {
  type ContainerSpec,
  invalidArgument,
  type NamespaceType,
  type ProcessSpec,
  type RlimitSpec,
} from '@tsdocker/core';

export const SPEC_VERSION = '3';

/** Linux's RLIMIT_* numbers (asm-generic/resource.h, which x86 uses). */
const RLIMIT_NUMBERS: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

/** What the driver adds to a container's spec: where the shim puts the process and its status. */
export interface ShimSupervision {
  /** Files the process writes `0` into, to join its cgroups before it runs (CgroupManager.joinFiles). */
  cgroupJoin: string[];
  /** `memory.oom_control` (v1) or `memory.events` (v2); its `oom_kill` counter detects OOM kills. */
  oomEvents?: string;
  /** Where the shim records the exit line, so the status survives the daemon. */
  exitFile?: string;
  /** Capability numbers the process keeps (bounding, permitted, effective). */
  capabilities: number[];
  /** Set no_new_privs before exec. */
  noNewPrivileges?: boolean;
  /** A file holding the compiled seccomp filter (`struct sock_filter[]`), and seccomp(2) flags. */
  seccompFile?: string;
  seccompFlags?: number;
  rlimits?: RlimitSpec[];
}

const NAMESPACE_KEYS: Record<NamespaceType, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  cgroup: 'cgroup',
};

class SpecWriter {
  private readonly records: string[] = [];

  add(key: string, value: string | number | boolean): void {
    const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    if (text.includes('\0')) throw invalidArgument(`${key} must not contain a NUL byte`);
    this.records.push(`${key}=${text}\0`);
  }

  toBuffer(): Buffer {
    return Buffer.from(this.records.join(''), 'utf8');
  }
}

function checkId(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xfffffffe) throw invalidArgument(`Invalid ${what}: ${n}`);
  return n;
}

function writeProcess(w: SpecWriter, process: ProcessSpec): void {
  if (process.args.length === 0) throw invalidArgument('No command specified');
  if (!process.cwd.startsWith('/'))
    throw invalidArgument(
      `the working directory '${process.cwd}' is invalid, it needs to be an absolute path`,
    );
  for (const arg of process.args) w.add('arg', arg);
  for (const env of process.env) w.add('env', env);
  w.add('cwd', process.cwd);
  w.add('uid', checkId(process.user.uid, 'uid'));
  w.add('gid', checkId(process.user.gid, 'gid'));
  for (const gid of process.user.additionalGids) w.add('gid.add', checkId(gid, 'additional gid'));
  w.add('terminal', process.terminal);
  if (process.terminal && process.consoleSize) {
    w.add('rows', checkWinsize(process.consoleSize.rows));
    w.add('cols', checkWinsize(process.consoleSize.cols));
  }
  w.add('open_stdin', process.openStdin);
}

export function checkWinsize(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw invalidArgument(`Invalid terminal size: ${n}`);
  return n;
}

function limitText(n: number, what: string): string {
  if (n === -1) return 'unlimited';
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`Invalid ${what}: ${n}`);
  return String(n);
}

function writeSupervision(w: SpecWriter, s: ShimSupervision): void {
  w.add('caps', s.capabilities.join(','));
  if (s.noNewPrivileges) w.add('no_new_privs', true);
  if (s.seccompFile) {
    w.add('seccomp', s.seccompFile);
    w.add('seccomp.flags', s.seccompFlags ?? 0);
  }
  for (const r of s.rlimits ?? []) {
    const resource = RLIMIT_NUMBERS[r.type];
    if (resource === undefined) throw invalidArgument(`Unknown rlimit type: ${r.type}`);
    w.add('rlimit', resource);
    w.add('rlimit.soft', limitText(r.soft, `${r.type} soft limit`));
    w.add('rlimit.hard', limitText(r.hard, `${r.type} hard limit`));
  }
  for (const path of s.cgroupJoin) w.add('cgroup.join', path);
  if (s.oomEvents) w.add('oom_events', s.oomEvents);
  if (s.exitFile) w.add('exit_file', s.exitFile);
}

/** The spec file for `tsd-shim run`. */
export function encodeRunSpec(spec: ContainerSpec, supervision: ShimSupervision): Buffer {
  const w = new SpecWriter();
  w.add('version', SPEC_VERSION);
  w.add('id', spec.id);
  if (!spec.rootfs.startsWith('/')) throw invalidArgument(`rootfs must be an absolute path: ${spec.rootfs}`);
  w.add('rootfs', spec.rootfs);
  w.add('readonly_rootfs', spec.readonlyRootfs);
  w.add('hostname', spec.hostname);
  w.add('domainname', spec.domainname);
  const seen = new Set<NamespaceType>();
  for (const ns of spec.namespaces) {
    const key = NAMESPACE_KEYS[ns.type];
    if (!key) throw invalidArgument(`Unknown namespace type: ${String(ns.type)}`);
    if (seen.has(ns.type)) throw invalidArgument(`Duplicate namespace: ${ns.type}`);
    seen.add(ns.type);
    w.add(`ns.${key}`, ns.path ?? '');
  }
  writeProcess(w, spec.process);
  for (const m of spec.mounts) {
    if (!m.destination.startsWith('/'))
      throw invalidArgument(`Mount destination must be absolute: ${m.destination}`);
    w.add('mount', m.destination);
    w.add('mount.type', m.type);
    w.add('mount.source', m.source);
    for (const o of m.options) w.add('mount.option', o);
  }
  for (const d of spec.devices) {
    if (!d.path.startsWith('/')) throw invalidArgument(`Device path must be absolute: ${d.path}`);
    w.add('device', d.path);
    w.add('device.type', d.type);
    w.add('device.major', d.major);
    w.add('device.minor', d.minor);
    w.add('device.mode', d.fileMode & 0o7777);
    w.add('device.uid', checkId(d.uid, 'device uid'));
    w.add('device.gid', checkId(d.gid, 'device gid'));
  }
  for (const [key, value] of Object.entries(spec.sysctl ?? {})) {
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_@:+-]+)+$/.test(key))
      throw invalidArgument(`Invalid sysctl name: ${key}`);
    w.add('sysctl', key);
    w.add('sysctl.value', value);
  }
  for (const p of spec.maskedPaths) w.add('masked', p);
  for (const p of spec.readonlyPaths) w.add('readonly', p);
  writeSupervision(w, supervision);
  return w.toBuffer();
}

/** The spec file for `tsd-shim exec`: a process to start inside the container whose init is `targetPid`. */
export function encodeExecSpec(
  containerId: string,
  targetPid: number,
  process: ProcessSpec,
  supervision: ShimSupervision,
): Buffer {
  const w = new SpecWriter();
  w.add('version', SPEC_VERSION);
  w.add('id', containerId);
  w.add('target_pid', targetPid);
  writeProcess(w, process);
  writeSupervision(w, supervision);
  return w.toBuffer();
}

/** Decodes a spec file into its records (for tests and debugging). */
export function decodeSpec(buf: Buffer): Array<[string, string]> {
  const text = buf.toString('utf8');
  if (!text.endsWith('\0')) throw new Error('spec does not end with NUL');
  return text
    .slice(0, -1)
    .split('\0')
    .map((rec) => {
      const eq = rec.indexOf('=');
      return [rec.slice(0, eq), rec.slice(eq + 1)] as [string, string];
    });
}
