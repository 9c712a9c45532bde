/**
 * The image config JSON (moby's `image.Image`; the Docker flavour of the OCI image config): its
 * TypeScript shape, the validation applied to every config the store accepts, and the encoder
 * that writes a config byte-for-byte as moby would (an image id is the sha256 of these bytes).
 */
import { z } from 'zod/v3';
import { invalidArgument } from '../errors.js';
import { parseNanos } from '../logs/log-time.js';
import { type Digest, isSha256Digest } from './digest.js';
import { type GoJson, type GoValue, goMap, goObject, goStrings, goValue } from './go-json.js';

/** `HEALTHCHECK` settings; durations in nanoseconds. */
export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/**
 * Docker's `container.Config` as stored in an image config (`config` and `container_config`).
 * Every field is optional when read: configs written by other tools (OCI converters, registries)
 * leave out what they do not use.
 */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, Record<string, never>> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, Record<string, never>> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

/** One `history` entry; `created` is RFC 3339. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface RootFS {
  type: string;
  diff_ids: Digest[];
}

/** The image config JSON as parsed from disk or from an archive. */
export interface ImageConfig {
  architecture?: string;
  variant?: string;
  os?: string;
  'os.version'?: string;
  'os.features'?: string[];
  author?: string;
  comment?: string;
  /** RFC 3339 with nanoseconds. */
  created?: string;
  container?: string;
  container_config?: ContainerConfig;
  docker_version?: string;
  config?: ContainerConfig | null;
  /** Parent image id (`sha256:…`) of locally built images. */
  parent?: string;
  id?: string;
  rootfs: RootFS;
  history?: HistoryEntry[];
}

/** Largest config accepted (and read back from disk): configs are small; this bounds a bomb. */
export const MAX_IMAGE_CONFIG_BYTES = 4 * 1024 * 1024;

// Go's StrSlice accepts a single string where an array is expected.
const strSlice = z.union([z.array(z.string()), z.string().transform((s) => [s])]).nullish();
const emptyObjectMap = z
  .record(
    z.string(),
    z
      .object({})
      .passthrough()
      .transform(() => ({}) as Record<string, never>),
  )
  .nullish();
const nanos = z.number().int().safe().nonnegative().optional();

const healthConfigSchema = z
  .object({
    Test: z.array(z.string()).nullish(),
    Interval: nanos,
    Timeout: nanos,
    StartPeriod: nanos,
    StartInterval: nanos,
    Retries: z.number().int().safe().nonnegative().optional(),
  })
  .passthrough()
  .nullish();

const containerConfigSchema = z
  .object({
    Hostname: z.string().optional(),
    Domainname: z.string().optional(),
    User: z.string().optional(),
    AttachStdin: z.boolean().optional(),
    AttachStdout: z.boolean().optional(),
    AttachStderr: z.boolean().optional(),
    ExposedPorts: emptyObjectMap,
    Tty: z.boolean().optional(),
    OpenStdin: z.boolean().optional(),
    StdinOnce: z.boolean().optional(),
    Env: z.array(z.string()).nullish(),
    Cmd: strSlice,
    Healthcheck: healthConfigSchema,
    ArgsEscaped: z.boolean().optional(),
    Image: z.string().optional(),
    Volumes: emptyObjectMap,
    WorkingDir: z.string().optional(),
    Entrypoint: strSlice,
    NetworkDisabled: z.boolean().optional(),
    MacAddress: z.string().optional(),
    OnBuild: z.array(z.string()).nullish(),
    Labels: z.record(z.string(), z.string()).nullish(),
    StopSignal: z.string().optional(),
    StopTimeout: z.number().int().safe().nullish(),
    Shell: strSlice,
  })
  .passthrough();

const timestamp = z.string().refine((s) => parseNanos(s) !== null, 'not an RFC 3339 timestamp');

const imageConfigSchema = z
  .object({
    architecture: z.string().optional(),
    variant: z.string().optional(),
    os: z.string().optional(),
    'os.version': z.string().optional(),
    'os.features': z.array(z.string()).nullish(),
    author: z.string().optional(),
    comment: z.string().optional(),
    created: timestamp.nullish(),
    container: z.string().optional(),
    container_config: containerConfigSchema.nullish(),
    docker_version: z.string().optional(),
    config: containerConfigSchema.nullish(),
    parent: z.string().optional(),
    id: z.string().optional(),
    rootfs: z
      .object({
        type: z.string(),
        diff_ids: z.array(z.string().refine(isSha256Digest, 'not a sha256 digest')).nullish(),
      })
      .passthrough(),
    history: z
      .array(
        z
          .object({
            created: timestamp.nullish(),
            created_by: z.string().optional(),
            author: z.string().optional(),
            comment: z.string().optional(),
            empty_layer: z.boolean().optional(),
          })
          .passthrough(),
      )
      .nullish(),
  })
  .passthrough();

/**
 * Parses and validates config bytes: JSON, the types of the fields Docker reads, a `layers`
 * rootfs with sha256 diff ids, no more non-empty history entries than layers, and the Linux OS.
 * Throws invalid-argument saying what is wrong.
 */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  if (bytes.length > MAX_IMAGE_CONFIG_BYTES) throw invalidArgument('image config is too large');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw invalidArgument(`invalid image config: ${(err as Error).message}`);
  }
  const result = imageConfigSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || 'config';
    throw invalidArgument(`invalid image config: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const parsed = result.data;
  if (parsed.rootfs.type !== 'layers') {
    throw invalidArgument(
      `invalid image config: unsupported rootfs type ${JSON.stringify(parsed.rootfs.type)}`,
    );
  }
  const os = parsed.os || 'linux';
  if (os !== 'linux') throw invalidArgument(`image operating system "${os}" cannot be used on this platform`);
  const diffIds = (parsed.rootfs.diff_ids ?? []) as Digest[];
  const nonEmpty = (parsed.history ?? []).filter((h) => !h.empty_layer).length;
  if (nonEmpty > diffIds.length) throw invalidArgument('too many non-empty layers in History section');
  return {
    ...(parsed as unknown as ImageConfig),
    rootfs: { ...parsed.rootfs, type: 'layers', diff_ids: diffIds },
  };
}

/** The zero `container.Config`, as Go writes an empty struct. */
export function emptyContainerConfig(): ContainerConfig {
  return {
    Hostname: '',
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: null,
    Cmd: null,
    Image: '',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: null,
  };
}

const nonEmpty = <T>(value: T | undefined | null | '' | false | 0): T | undefined =>
  value === null || value === undefined || value === '' || value === false || value === 0 ? undefined : value;

const nonEmptyMap = (map: Record<string, unknown> | null | undefined): GoJson | undefined =>
  map && Object.keys(map).length > 0 ? goMap(map as Record<string, GoValue>) : undefined;

const nonEmptyList = (list: readonly string[] | null | undefined): GoJson | undefined =>
  list && list.length > 0 ? goValue(list) : undefined;

function encodeHealthConfig(h: HealthConfig): GoJson {
  return goObject([
    ['Test', nonEmptyList(h.Test)],
    ['Interval', nonEmpty(h.Interval)],
    ['Timeout', nonEmpty(h.Timeout)],
    ['StartPeriod', nonEmpty(h.StartPeriod)],
    ['StartInterval', nonEmpty(h.StartInterval)],
    ['Retries', nonEmpty(h.Retries)],
  ]);
}

/** `container.Config` in its Go field order, omitempty fields left out when empty. */
export function encodeContainerConfig(c: ContainerConfig): GoJson {
  return goObject([
    ['Hostname', c.Hostname ?? ''],
    ['Domainname', c.Domainname ?? ''],
    ['User', c.User ?? ''],
    ['AttachStdin', c.AttachStdin ?? false],
    ['AttachStdout', c.AttachStdout ?? false],
    ['AttachStderr', c.AttachStderr ?? false],
    ['ExposedPorts', nonEmptyMap(c.ExposedPorts)],
    ['Tty', c.Tty ?? false],
    ['OpenStdin', c.OpenStdin ?? false],
    ['StdinOnce', c.StdinOnce ?? false],
    ['Env', goStrings(c.Env)],
    ['Cmd', goStrings(c.Cmd)],
    ['Healthcheck', c.Healthcheck ? encodeHealthConfig(c.Healthcheck) : undefined],
    ['ArgsEscaped', nonEmpty(c.ArgsEscaped)],
    ['Image', c.Image ?? ''],
    ['Volumes', goMap(c.Volumes as Record<string, GoValue> | null | undefined)],
    ['WorkingDir', c.WorkingDir ?? ''],
    ['Entrypoint', goStrings(c.Entrypoint)],
    ['NetworkDisabled', nonEmpty(c.NetworkDisabled)],
    ['MacAddress', nonEmpty(c.MacAddress)],
    ['OnBuild', goStrings(c.OnBuild)],
    ['Labels', goMap(c.Labels)],
    ['StopSignal', nonEmpty(c.StopSignal)],
    ['StopTimeout', c.StopTimeout ?? undefined],
    ['Shell', nonEmptyList(c.Shell)],
  ]);
}

function encodeHistoryEntry(h: HistoryEntry): GoJson {
  return goObject([
    ['created', nonEmpty(h.created)],
    ['created_by', nonEmpty(h.created_by)],
    ['author', nonEmpty(h.author)],
    ['comment', nonEmpty(h.comment)],
    ['empty_layer', nonEmpty(h.empty_layer)],
  ]);
}

/** What a new image config is made of (import, commit, build). */
export interface NewImageConfig {
  architecture: string;
  variant?: string;
  os: string;
  author?: string;
  comment?: string;
  created: string;
  container?: string;
  /** Written as the zero config when absent, as moby does. */
  container_config?: ContainerConfig;
  docker_version?: string;
  config?: ContainerConfig | null;
  parent?: string;
  rootfs: RootFS;
  history?: HistoryEntry[];
  'os.version'?: string;
  'os.features'?: string[];
}

/**
 * Encodes a new config exactly as moby's `image.Image.MarshalJSON` does: top-level keys sorted,
 * nested structs in field order, empty optional fields left out.
 */
export function encodeImageConfig(img: NewImageConfig): Buffer {
  const top: Record<string, GoValue> = {
    architecture: nonEmpty(img.architecture),
    author: nonEmpty(img.author),
    comment: nonEmpty(img.comment),
    config: img.config ? encodeContainerConfig(img.config) : undefined,
    container: nonEmpty(img.container),
    container_config: encodeContainerConfig(img.container_config ?? emptyContainerConfig()),
    created: img.created,
    docker_version: nonEmpty(img.docker_version),
    history: img.history && img.history.length > 0 ? goValue(img.history.map(encodeHistoryEntry)) : undefined,
    os: nonEmpty(img.os),
    'os.features': nonEmptyList(img['os.features']),
    'os.version': nonEmpty(img['os.version']),
    parent: nonEmpty(img.parent),
    rootfs: goObject([
      ['type', img.rootfs.type],
      ['diff_ids', img.rootfs.diff_ids.length > 0 ? goValue(img.rootfs.diff_ids) : undefined],
    ]),
    variant: nonEmpty(img.variant),
  };
  const present = Object.fromEntries(Object.entries(top).filter(([, v]) => v !== undefined));
  return Buffer.from(goMap(present).text, 'utf8');
}
