/** The Engine API's view of a network, and `network ls` / `prune` filtering. */
import type { Filters } from '../services.js';
import type { LiveNetwork } from './live-networks.js';
import { matchesNetworkFilters } from './network-filters.js';

/** `withContainers`: inspect lists the endpoints, `network ls` leaves them out. */
export function networkView(live: LiveNetwork, withContainers: boolean): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  if (withContainers) {
    for (const ep of Object.values(live.stored.endpoints)) {
      containers[ep.containerId] = {
        Name: ep.name,
        EndpointID: ep.id,
        MacAddress: ep.macAddress,
        IPv4Address: ep.address,
        IPv6Address: '',
      };
    }
  }
  return { ...live.stored.network, Containers: containers };
}

export function networkMatches(live: LiveNetwork, userDefined: boolean, filters: Filters): boolean {
  return matchesNetworkFilters(live.stored.network, {
    userDefined,
    endpoints: Object.keys(live.stored.endpoints).length,
    filters,
  });
}
