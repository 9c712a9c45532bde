/**
 * The image config `docker commit` writes (moby's `CreateImageFromContainer` + `CommitImage` +
 * `image.NewChildImage`): the container's config with the `--change` instructions applied and
 * then completed from the container's own config (moby's `merge`), the parent's layers plus the
 * container's diff, and one history entry saying who committed what.
 */
import { invalidArgument } from '../errors.js';
import { applyChanges } from '../image/change-commands.js';
import type { Digest } from '../image/digest.js';
import { GoJson } from '../image/go-json.js';
import {
  type ContainerConfig,
  encodeImageConfig,
  type HistoryEntry,
  type ImageConfig,
} from '../image/image-config.js';
import { hostPlatform } from '../image/platform.js';
import { containerConfigSchema, toArgv } from './create-config.js';

/** The diff id of an empty layer tar (moby's `layer.DigestSHA256EmptyTar`): nothing changed. */
export const EMPTY_LAYER_DIFF_ID =
  'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' as Digest;

/**
 * A container config as stored (or as a commit body carries it, nulls and a string `Cmd`
 * allowed) in the image config's shape: null fields dropped, `Cmd`/`Entrypoint` as lists.
 */
export function toImageContainerConfig(config: object): ContainerConfig {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value !== null && value !== undefined) out[key] = value;
  }
  const { Cmd, Entrypoint } = config as {
    Cmd?: string[] | string | null;
    Entrypoint?: string[] | string | null;
  };
  out.Cmd = toArgv(Cmd);
  out.Entrypoint = toArgv(Entrypoint);
  return out as ContainerConfig;
}

/**
 * The optional config in a commit request body (`container.Config` at the top level), validated;
 * null when it sets no config field (moby then keeps the container's; dockerode sends its query
 * options as the body).
 */
export function parseCommitBodyConfig(body: unknown): ContainerConfig | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidArgument('invalid JSON: the request body must be a JSON object');
  }
  const parsed = containerConfigSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.');
    throw invalidArgument(`invalid value for ${field || 'config'}: ${issue?.message ?? 'invalid'}`);
  }
  if (Object.values(parsed.data).every((value) => value === undefined)) return null;
  return toImageContainerConfig(parsed.data);
}

const envKey = (entry: string): string => entry.split('=', 1)[0] ?? '';
const isEmpty = (value: readonly unknown[] | Record<string, unknown> | null | undefined): boolean =>
  !value || (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0);

/** moby's `merge(userConf, imageConf)`: `user` completed where it says nothing. Returns a copy. */
export function mergeCommitConfig(user: ContainerConfig, base: ContainerConfig): ContainerConfig {
  const c = structuredClone(user);
  if (!c.User) c.User = base.User;
  if (isEmpty(c.ExposedPorts)) c.ExposedPorts = base.ExposedPorts;
  else if (base.ExposedPorts) {
    for (const port of Object.keys(base.ExposedPorts)) c.ExposedPorts![port] ??= {};
  }
  if (isEmpty(c.Env)) c.Env = base.Env;
  else {
    for (const entry of base.Env ?? []) {
      if (!c.Env!.some((own) => envKey(own) === envKey(entry))) c.Env!.push(entry);
    }
  }
  c.Labels = { ...(base.Labels ?? {}), ...(c.Labels ?? {}) };
  if (isEmpty(c.Entrypoint)) {
    if (isEmpty(c.Cmd)) c.Cmd = base.Cmd;
    if (c.Entrypoint === null || c.Entrypoint === undefined) c.Entrypoint = base.Entrypoint;
  }
  if (base.Healthcheck) {
    if (!c.Healthcheck) c.Healthcheck = base.Healthcheck;
    else {
      const h = c.Healthcheck;
      const b = base.Healthcheck;
      if (isEmpty(h.Test)) h.Test = b.Test;
      h.Interval ||= b.Interval;
      h.Timeout ||= b.Timeout;
      h.StartPeriod ||= b.StartPeriod;
      h.StartInterval ||= b.StartInterval;
      h.Retries ||= b.Retries;
    }
  }
  if (!c.WorkingDir) c.WorkingDir = base.WorkingDir;
  if (isEmpty(c.Volumes)) c.Volumes = base.Volumes;
  else if (base.Volumes) Object.assign(c.Volumes!, base.Volumes);
  if (!c.StopSignal) c.StopSignal = base.StopSignal;
  return c;
}

/** The config a commit stores: `changes` applied to `base` (or `override`), completed from `base`. */
export function commitRunConfig(
  base: ContainerConfig,
  changes: readonly string[],
  override: ContainerConfig | null,
): ContainerConfig {
  return mergeCommitConfig(applyChanges(override ?? base, changes), base);
}

/**
 * `image-config.ts`'s encoder writes map values that are GoJson fragments or scalars; the `{}`
 * values of `ExposedPorts` and `Volumes` are written as such fragments here.
 */
function encodableConfig(config: ContainerConfig): ContainerConfig {
  const emptyStructs = (map: Record<string, unknown> | null | undefined) =>
    map ? Object.fromEntries(Object.keys(map).map((key) => [key, new GoJson('{}')])) : map;
  return {
    ...config,
    ExposedPorts: emptyStructs(config.ExposedPorts) as ContainerConfig['ExposedPorts'],
    Volumes: emptyStructs(config.Volumes) as ContainerConfig['Volumes'],
  };
}

export interface CommitImageInput {
  parent: ImageConfig;
  containerId: string;
  /** The container's own config (`container_config`; its Cmd is the history's `created_by`). */
  containerConfig: ContainerConfig;
  /** The new image's run config (`commitRunConfig`). */
  config: ContainerConfig;
  author: string;
  comment: string;
  /** The committed layer's diff id; `EMPTY_LAYER_DIFF_ID` adds no layer. */
  diffId: Digest;
  /** RFC 3339 with nanoseconds. */
  created: string;
  engineVersion?: string;
}

/** The config bytes of the committed image (its id is their sha256). */
export function commitImageConfig(input: CommitImageInput): Buffer {
  const { parent } = input;
  const emptyLayer = input.diffId === EMPTY_LAYER_DIFF_ID;
  const entry: HistoryEntry = {
    created: input.created,
    created_by: (input.containerConfig.Cmd ?? []).join(' '),
    author: input.author,
    comment: input.comment,
    empty_layer: emptyLayer,
  };
  const diffIds = parent.rootfs.diff_ids ?? [];
  return encodeImageConfig({
    architecture: parent.architecture || hostPlatform().architecture,
    variant: parent.variant,
    os: 'linux',
    author: input.author,
    created: input.created,
    container: input.containerId,
    container_config: encodableConfig(input.containerConfig),
    docker_version: input.engineVersion,
    config: encodableConfig(input.config),
    rootfs: { type: 'layers', diff_ids: emptyLayer ? diffIds : [...diffIds, input.diffId] },
    history: [...(parent.history ?? []), entry],
    'os.version': parent['os.version'],
    'os.features': parent['os.features'],
  });
}
