/** `docker ps --filter`: id, name, label, status, exited, ancestor, before, since. */
import { invalidArgument } from '../errors.js';
import type { Filters } from '../services.js';
import type { ContainerEntry } from './container-entry.js';
import type { ContainerStore } from './container-store.js';

const KNOWN = new Set(['id', 'name', 'label', 'status', 'exited', 'ancestor', 'before', 'since']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

export function matchContainerFilters(
  entries: ContainerEntry[],
  filters: Filters,
  store: ContainerStore,
): ContainerEntry[] {
  for (const key of Object.keys(filters)) {
    if (!KNOWN.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  }
  for (const s of filters.status ?? []) {
    if (!STATUSES.has(s)) throw invalidArgument(`invalid filter 'status=${s}'`);
  }
  const exited = (filters.exited ?? []).map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw invalidArgument(`invalid filter 'exited=${v}'`);
    return n;
  });
  const names = (filters.name ?? []).map((n) => {
    try {
      return new RegExp(n);
    } catch {
      throw invalidArgument(`invalid filter 'name=${n}'`);
    }
  });
  const createdOf = (ref: string) => Date.parse(store.get(ref).record.Created);
  const before = filters.before?.length ? Math.min(...filters.before.map(createdOf)) : undefined;
  const since = filters.since?.length ? Math.max(...filters.since.map(createdOf)) : undefined;

  return entries.filter((e) => {
    const r = e.record;
    if (filters.id?.length && !filters.id.some((p) => r.ID.startsWith(p))) return false;
    if (names.length && !names.some((re) => re.test(r.Name))) return false;
    if (filters.label?.length && !filters.label.every((l) => labelMatches(r.Config.Labels, l))) return false;
    if (filters.status?.length && !filters.status.includes(r.State.Status)) return false;
    if (exited.length && (r.State.Status !== 'exited' || !exited.includes(r.State.ExitCode))) return false;
    if (
      filters.ancestor?.length &&
      !filters.ancestor.some(
        (a) =>
          r.Config.Image === a ||
          r.Image === a ||
          r.Image.replace('sha256:', '').startsWith(a.replace('sha256:', '')),
      )
    )
      return false;
    const created = Date.parse(r.Created);
    if (before !== undefined && created >= before) return false;
    if (since !== undefined && created <= since) return false;
    return true;
  });
}
