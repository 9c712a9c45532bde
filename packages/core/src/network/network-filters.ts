/** `docker network ls --filter`: name, id, driver, scope, type, dangling, label, label!. */
import { invalidArgument } from '../errors.js';
import type { Filters } from '../services.js';
import type { NetworkRecord } from './network-store.js';

export function matchesNetworkFilters(
  net: NetworkRecord,
  opts: { userDefined: boolean; endpoints: number; filters: Filters },
): boolean {
  const { filters } = opts;
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((v) => {
      switch (key) {
        case 'name':
          return net.Name.includes(v);
        case 'id':
          return net.Id.startsWith(v);
        case 'driver':
          return net.Driver === v;
        case 'scope':
          return v === 'local';
        case 'type':
          if (v !== 'custom' && v !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${v}'`);
          return (v === 'custom') === opts.userDefined;
        case 'dangling': {
          const dangling = v === 'true' || v === '1';
          return opts.userDefined && (opts.endpoints === 0) === dangling;
        }
        case 'label': {
          const eq = v.indexOf('=');
          return eq < 0 ? v in net.Labels : net.Labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case 'label!': {
          const eq = v.indexOf('=');
          return eq < 0 ? !(v in net.Labels) : net.Labels[v.slice(0, eq)] !== v.slice(eq + 1);
        }
        case 'until':
          return true;
        default:
          throw invalidArgument(`invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}
