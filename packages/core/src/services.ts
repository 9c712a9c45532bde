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

/** What `docker import` sends (`POST /images/create?fromSrc=-`). */
export interface ImageImportParams {
  source: Readable;
  /** `repo` may carry the tag (`myimp:1`), as the CLI sends it. */
  repo?: string;
  tag?: string;
  changes: string[];
  message?: string;
  platform?: string;
  progress?: ProgressSink;
}

export interface ImageService {
  /** `POST /images/create?fromSrc=-`: imports a rootfs tar (plain or gzip) as a one-layer image. */
  import(params: ImageImportParams): Promise<{ id: string }>;
  list(opts: { all: boolean; filters: Filters; digests?: boolean }): Promise<Record<string, unknown>[]>;
  inspect(ref: string): Promise<Record<string, unknown>>;
  history(ref: string): Promise<Record<string, unknown>[]>;
  /** `repo` normalised or familiar; `tag` defaults to `latest`. */
  tag(ref: string, repo: string, tag?: string): Promise<void>;
  remove(
    ref: string,
    opts?: { force?: boolean; noprune?: boolean },
  ): Promise<Array<{ Untagged: string } | { Deleted: string }>>;
  /**
   * `POST /images/load`: an image archive (Docker's `manifest.json` layout or an OCI image
   * layout, plain or compressed). `progress` gets moby's messages (`{"stream":"Loaded image:
   * busybox:latest\n"}`, `Loading layer` unless `quiet`). A failed load stores nothing.
   */
  load(params: {
    source: Readable;
    quiet?: boolean;
    /** Only images for this platform (the JSON OCI platform of API 1.48+). */
    platform?: { os: string; architecture: string; variant?: string };
    progress?: ProgressSink;
  }): Promise<void>;
  /**
   * `GET /images/get`: the images as one tar (moby 25+'s layout). Names are resolved before the
   * stream is returned, so unknown names throw; read the stream to the end or destroy it.
   */
  save(params: {
    names: string[];
    platform?: { os: string; architecture: string; variant?: string };
  }): Promise<Readable>;
}

export interface SystemService {
  /** `GET /version` body. */
  version(): Promise<Record<string, unknown>>;
  /** `GET /info` body. */
  info(): Promise<Record<string, unknown>>;
}

/**
 * `/networks/...`. Bodies are the Engine API's JSON (`POST /networks/create`, connect,
 * disconnect); results are Docker's network objects.
 */
export interface NetworkService {
  list(opts: { filters: Filters }): Promise<Record<string, unknown>[]>;
  inspect(ref: string): Promise<Record<string, unknown>>;
  create(body: unknown): Promise<{ Id: string; Warning: string }>;
  /** Throws forbidden for the predefined networks and for networks with active endpoints. */
  remove(ref: string): Promise<void>;
  connect(ref: string, body: unknown): Promise<void>;
  disconnect(ref: string, body: unknown): Promise<void>;
  prune(opts: { filters: Filters }): Promise<{ NetworksDeleted: string[] }>;
}

/** `docker cp`'s view of a path (moby's `container.PathStat`); sent base64 JSON in a header. */
export interface PathStat {
  name: string;
  size: number;
  /** A Go `os.FileMode` (directory = bit 31, symlink = bit 27), not a POSIX `st_mode`. */
  mode: number;
  /** RFC 3339 with nanoseconds. */
  mtime: string;
  /** For a symlink: where it finally leads inside the container (`/etc`); else empty. */
  linkTarget: string;
}

/** One `docker diff` line: Kind 0 = changed, 1 = added, 2 = deleted. */
export interface ContainerChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

export interface CommitOptions {
  /** The container, as the client named it. */
  container: string;
  /** Repository to tag the image with (normalised or familiar); none = untagged. */
  repo?: string;
  tag?: string;
  author?: string;
  comment?: string;
  /** Dockerfile instructions (`CMD ["sh"]`, `ENV a=b`) applied to the config. */
  changes: string[];
  /** Freeze a running container while its changes are read (Docker's default). */
  pause: boolean;
  /** A `container.Config` from the request body, used instead of the container's. */
  config?: unknown;
}

/**
 * A container's filesystem: `docker diff`, `export`, `commit` and `cp`. Works on stopped
 * containers as well as running ones (which are frozen while their files are read or written).
 * Streams returned must be read to the end or destroyed: until then the container stays locked.
 */
export interface ContainerFilesService {
  changes(ref: string): Promise<ContainerChange[]>;
  /** The whole root filesystem as a tar. */
  export(ref: string): Promise<Readable>;
  commit(opts: CommitOptions): Promise<{ Id: string }>;
  /** `HEAD /containers/{id}/archive`. */
  statPath(ref: string, path: string): Promise<PathStat>;
  /** `GET /containers/{id}/archive`: the path as a tar whose top entry is its base name. */
  getArchive(ref: string, path: string): Promise<{ stat: PathStat; archive: Readable }>;
  /** `PUT /containers/{id}/archive`: extracts `source` (a tar) into the directory `path`. */
  putArchive(
    ref: string,
    path: string,
    source: Readable,
    opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean },
  ): Promise<void>;
}

/** Everything a front end needs. `Daemon` implements it; API tests may use a fake. */
export interface DaemonServices {
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly images: ImageService;
  readonly system: SystemService;
  /** Absent when the daemon runs without a network driver (embedding, API fakes). */
  readonly networks?: NetworkService;
  /** Absent in front ends without access to container filesystems; the API then answers 501. */
  readonly containerFiles?: ContainerFilesService;
}
