/**
 * What the daemon offers its front ends (the Engine API server, an embedding program). Bodies that
 * come from clients are passed as `unknown` and validated by core, so every front end gets the
 * same checks and the same Docker-shaped errors. Results are Docker Engine API 1.50 JSON shapes.
 *
 * Errors are TsdockerErrors whose messages are Docker's (`No such container: x`); the API maps
 * their kinds to statuses in one place.
 */
import type { Readable, Writable } from 'node:stream';

/** Filters as `{ key: [values…] }`, normalised from both of Docker's wire forms. */
export type Filters = Record<string, string[]>;

/** One chunk of a container's or exec's output. `stdin` is only ever echoed back by Docker. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/**
 * A live connection to a container's or exec's stdio. `output` is an object-mode Readable of
 * OutputChunk that ends when the process has exited and every byte has been delivered (or after
 * `detach()`). Writing to `stdin` feeds the process (buffered until it starts); ending `stdin`
 * closes the process's stdin when the container was created with StdinOnce (as `run -i` does).
 */
export interface Attachment {
  readonly tty: boolean;
  readonly output: Readable;
  readonly stdin: Writable | null;
  /** Stops delivering to this attachment without affecting the process. Idempotent. */
  detach(): void;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Stream live output (Docker's `stream=1`). */
  stream: boolean;
  /** Replay the logged output first (Docker's `logs=1`). */
  logs: boolean;
}

export interface LogsOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Unix seconds (fractional allowed); 0 = from the start. */
  since: number;
  /** Unix seconds; 0 = no end. */
  until: number;
  timestamps: boolean;
  /** Number of lines from the end, or 'all'. */
  tail: number | 'all';
  details: boolean;
}

export interface LogsStream {
  readonly tty: boolean;
  /** Object-mode Readable of OutputChunk; with `follow` it ends when the container stops. */
  readonly output: Readable;
  /** Stops a follow early (client went away). Idempotent. */
  close(): void;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface WaitResult {
  StatusCode: number;
  Error?: { Message: string };
}

export interface ContainerService {
  /** `POST /containers/create`: `body` is the create JSON (Config + HostConfig + NetworkingConfig). */
  create(params: {
    name?: string;
    platform?: string;
    body: unknown;
  }): Promise<{ Id: string; Warnings: string[] }>;
  inspect(ref: string, opts?: { size?: boolean }): Promise<Record<string, unknown>>;
  list(opts: {
    all: boolean;
    limit?: number;
    size: boolean;
    filters: Filters;
  }): Promise<Record<string, unknown>[]>;
  /** Throws not-modified when already running. */
  start(ref: string): Promise<void>;
  /** Throws not-modified when not running. `timeout` in seconds (-1 = wait forever). */
  stop(ref: string, opts?: { timeout?: number; signal?: string }): Promise<void>;
  kill(ref: string, signal?: string): Promise<void>;
  restart(ref: string, opts?: { timeout?: number; signal?: string }): Promise<void>;
  /**
   * Registers a waiter. The returned promise settles as soon as the container was found and the
   * wait registered (so the API can send headers at once); `result` settles when the condition is
   * met. Aborting `signal` drops the waiter.
   */
  wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ result: Promise<WaitResult> }>;
  remove(ref: string, opts?: { force?: boolean; volumes?: boolean; link?: boolean }): Promise<void>;
  attach(ref: string, opts: AttachOptions): Promise<Attachment>;
  resize(ref: string, rows: number, cols: number): Promise<void>;
  logs(ref: string, opts: LogsOptions): Promise<LogsStream>;
  rename(ref: string, newName: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  /** `docker top`: titles + rows, from `ps` arguments (default `-ef`). */
  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
}

export interface ExecStartOptions {
  detach: boolean;
  tty?: boolean;
  consoleSize?: [number, number] | null;
}

export interface ExecService {
  /** `POST /containers/{id}/exec`; throws conflict (`container <id> is not running`). */
  create(containerRef: string, body: unknown): Promise<{ Id: string }>;
  /**
   * Starts the exec. Detached: resolves null once started. Attached: resolves an Attachment whose
   * output ends after the exit code has been recorded (so `inspect` right after sees it).
   */
  start(execId: string, opts: ExecStartOptions): Promise<Attachment | null>;
  inspect(execId: string): Promise<Record<string, unknown>>;
  resize(execId: string, rows: number, cols: number): Promise<void>;
}

/** A line of a JSON progress stream (`{"status":…}`, `{"stream":…}`, `{"aux":…}`, errors). */
export type ProgressMessage = Record<string, unknown>;
export type ProgressSink = (msg: ProgressMessage) => void;

export interface ImageService {
  /** `POST /images/create?fromSrc=-`: imports a rootfs tar (plain or gzip) as a one-layer image. */
  import(params: {
    source: Readable;
    /** `repo` may carry the tag (`myimp:1`), as the CLI sends it. */
    repo?: string;
    tag?: string;
    changes: string[];
    message?: string;
    platform?: string;
    progress?: ProgressSink;
  }): Promise<{ id: string }>;
  list(opts: { all: boolean; filters: Filters; digests?: boolean }): Promise<Record<string, unknown>[]>;
  inspect(ref: string): Promise<Record<string, unknown>>;
  history(ref: string): Promise<Record<string, unknown>[]>;
  /** `repo` normalised or familiar; `tag` defaults to `latest`. */
  tag(ref: string, repo: string, tag?: string): Promise<void>;
  remove(
    ref: string,
    opts?: { force?: boolean; noprune?: boolean },
  ): Promise<Array<{ Untagged: string } | { Deleted: string }>>;
}

export interface SystemService {
  /** `GET /version` body. */
  version(): Promise<Record<string, unknown>>;
  /** `GET /info` body. */
  info(): Promise<Record<string, unknown>>;
}

/** Everything a front end needs. `Daemon` implements it; API tests may use a fake. */
export interface DaemonServices {
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly images: ImageService;
  readonly system: SystemService;
}
