/**
 * The Engine API 1.50 shapes of an image: `GET /images/json` summaries, `GET /images/{name}/json`
 * and `GET /images/{name}/history`, built from the stores as moby's image service builds them.
 */
import { parseNanos } from '../logs/log-time.js';
import { chainIdsOf } from './chain-id.js';
import type { ContainerConfig } from './image-config.js';
import type { ImageEntry } from './image-store.js';
import type { LayerStore } from './layer-store.js';
import { familiarString, type NamedReference } from './reference.js';
import { displayTime, unixSeconds, ZERO_TIME } from './timestamps.js';

/** Tags and digests of one image, familiar form, in the reference store's order. */
export function splitReferences(refs: readonly NamedReference[]): { tags: string[]; digests: string[] } {
  const tags: string[] = [];
  const digests: string[] = [];
  for (const ref of refs) {
    if (ref.digest !== null) digests.push(familiarString(ref));
    else if (ref.tag !== null) tags.push(familiarString(ref));
  }
  return { tags, digests: [...new Set(digests)] };
}

/** Total size of an image: every layer of its stack. */
export function imageSize(entry: ImageEntry, layers: LayerStore): number {
  return entry.topChainId ? (layers.get(entry.topChainId)?.chainSize ?? 0) : 0;
}

/**
 * The image `Config` of API 1.50 (moby's DockerOCIImageConfig): the container-only fields of
 * older versions are gone; these eight are always present, the rest only when set.
 */
export function imageConfigView(c: ContainerConfig | null | undefined): Record<string, unknown> {
  const config = c ?? {};
  const view: Record<string, unknown> = {
    User: config.User ?? '',
    Env: config.Env ?? null,
    Cmd: config.Cmd ?? null,
    Volumes: config.Volumes ?? null,
    WorkingDir: config.WorkingDir ?? '',
    Entrypoint: config.Entrypoint ?? null,
    OnBuild: config.OnBuild ?? null,
    Labels: config.Labels ?? null,
  };
  if (config.ExposedPorts && Object.keys(config.ExposedPorts).length > 0)
    view.ExposedPorts = config.ExposedPorts;
  if (config.Healthcheck) view.Healthcheck = config.Healthcheck;
  if (config.ArgsEscaped) view.ArgsEscaped = true;
  if (config.StopSignal) view.StopSignal = config.StopSignal;
  if (config.StopTimeout !== undefined && config.StopTimeout !== null) view.StopTimeout = config.StopTimeout;
  if (config.Shell && config.Shell.length > 0) view.Shell = config.Shell;
  return view;
}

/** One `GET /images/json` entry. */
export function summaryView(
  entry: ImageEntry,
  refs: { tags: string[]; digests: string[] },
  size: number,
): Record<string, unknown> {
  return {
    Id: entry.id,
    ParentId: entry.parent ?? '',
    RepoTags: refs.tags,
    RepoDigests: refs.digests,
    Created: entry.createdNs !== null ? unixSeconds(entry.createdNs) : 0,
    Size: size,
    SharedSize: -1,
    Labels: entry.config.config?.Labels ?? null,
    Containers: -1,
  };
}

/** `GET /images/{name}/json`. */
export function inspectView(
  entry: ImageEntry,
  refs: { tags: string[]; digests: string[] },
  size: number,
  driverName: string,
): Record<string, unknown> {
  const c = entry.config;
  const history = c.history ?? [];
  const view: Record<string, unknown> = {
    Id: entry.id,
    RepoTags: refs.tags,
    RepoDigests: refs.digests,
    Parent: entry.parent ?? '',
    Comment: c.comment || history[history.length - 1]?.comment || '',
  };
  if (c.created) view.Created = displayTime(c.created);
  Object.assign(view, {
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: imageConfigView(c.config),
    Architecture: c.architecture ?? '',
  });
  if (c.variant) view.Variant = c.variant;
  view.Os = c.os || 'linux';
  if (c['os.version']) view.OsVersion = c['os.version'];
  const layers = c.rootfs.diff_ids;
  Object.assign(view, {
    Size: size,
    GraphDriver: { Data: null, Name: driverName },
    RootFS: layers.length > 0 ? { Type: c.rootfs.type, Layers: [...layers] } : { Type: c.rootfs.type },
    Metadata: { LastTagTime: entry.lastUpdated ? displayTime(entry.lastUpdated) : ZERO_TIME },
  });
  return view;
}

/**
 * `GET /images/{name}/history`, newest first. The top entry carries the image id and tags; each
 * further entry the id of the next parent image while local parents are known, then `<missing>`.
 */
export function historyView(
  entry: ImageEntry,
  layers: LayerStore,
  parentOf: (id: ImageEntry) => ImageEntry | undefined,
  tagsOf: (id: ImageEntry) => string[],
): Array<Record<string, unknown>> {
  const chainIds = chainIdsOf(entry.config.rootfs.diff_ids);
  let layerIndex = 0;
  const items: Array<Record<string, unknown>> = [];
  for (const h of entry.config.history ?? []) {
    let size = 0;
    if (!h.empty_layer) {
      const chainId = chainIds[layerIndex++];
      size = chainId ? (layers.get(chainId)?.size ?? 0) : 0;
    }
    const created = h.created ? displayTime(h.created) : null;
    const createdNs = created ? parseNanos(created) : null;
    items.unshift({
      Id: '<missing>',
      Created: createdNs !== null ? unixSeconds(createdNs) : 0,
      CreatedBy: h.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: h.comment ?? '',
    });
  }
  let image: ImageEntry | undefined = entry;
  for (const item of items) {
    if (!image) break;
    item.Id = image.id;
    const tags = tagsOf(image);
    item.Tags = tags.length > 0 ? tags : null;
    image = parentOf(image);
  }
  return items;
}
