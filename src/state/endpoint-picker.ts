// Chooses one endpoint workload and target port for a service port (ztunnel src/state.rs,
// src/state/service.rs): port mapping, health filtering, locality ranking for Strict/Failover,
// weighted random by capacity.

import type { Endpoint, RoutingPreference, Service, Workload } from './types.js';

export interface PickedEndpoint {
  readonly workload: Workload;
  /** The port to dial on the workload (the target port). */
  readonly port: number;
}

/** Returns a float in [0, 1), like Math.random; injectable so tests can steer the choice. */
export type RandomSource = () => number;

interface Candidate extends PickedEndpoint {
  readonly rank: number;
}

/**
 * Target port for `servicePort` on one endpoint: the endpoint's own port map wins, then the
 * service's non-zero target port, then (app tunnel with a port) the service port itself.
 * undefined = this endpoint cannot serve the port and is skipped.
 */
export function targetPortFor(
  service: Service,
  servicePort: number,
  endpoint: Endpoint,
  workload: Workload,
): number | undefined {
  const own = endpoint.port.get(servicePort);
  if (own !== undefined && own !== 0) return own;
  const svcTarget = service.ports.get(servicePort);
  if (svcTarget !== undefined && svcTarget !== 0) return svcTarget;
  if (workload.applicationTunnel !== undefined && workload.applicationTunnel.port !== 0) return servicePort;
  return undefined;
}

function scopeMatches(scope: RoutingPreference, src: Workload, dst: Workload): boolean {
  switch (scope) {
    case 'Region':
      return src.locality.region === dst.locality.region;
    case 'Zone':
      return src.locality.zone === dst.locality.zone;
    case 'Subzone':
      return src.locality.subzone === dst.locality.subzone;
    case 'Node':
      return src.node === dst.node;
    case 'Cluster':
      return src.clusterId === dst.clusterId;
    case 'Network':
      return src.network === dst.network;
    default: {
      const never: never = scope;
      return never;
    }
  }
}

/**
 * Locality rank: how many leading routing preferences match the source, stopping at the first
 * mismatch. undefined = excluded (Strict requires every scope to match). Without a source or in
 * Standard/Passthrough mode every endpoint ranks 0 (ztunnel does the same).
 */
function rankOf(service: Service, dst: Workload, source: Workload | undefined): number | undefined {
  const lb = service.loadBalancer;
  if (lb === undefined || source === undefined || (lb.mode !== 'Strict' && lb.mode !== 'Failover')) return 0;
  let rank = 0;
  for (const scope of lb.routingPreferences) {
    if (!scopeMatches(scope, source, dst)) break;
    rank++;
  }
  if (lb.mode === 'Strict' && rank !== lb.routingPreferences.length) return undefined;
  return rank;
}

/** An endpoint with neither IP nor hostname is reachable only through a network gateway. */
function reachable(dst: Workload, source: Workload | undefined): boolean {
  if (dst.workloadIps.length > 0 || dst.hostname !== '') return true;
  return source !== undefined && dst.network !== source.network && dst.networkGateway !== undefined;
}

/**
 * The endpoints `pickEndpoint` chooses among: healthy (or AllowAll), reachable, with a target port
 * for `servicePort`, and of the best locality rank present. Empty when none qualifies.
 */
export function endpointCandidates(
  service: Service,
  servicePort: number,
  endpoints: readonly Endpoint[],
  workloadByUid: (uid: string) => Workload | undefined,
  source: Workload | undefined,
): PickedEndpoint[] {
  if (!service.ports.has(servicePort)) return [];
  const allowUnhealthy = service.loadBalancer?.healthPolicy === 'AllowAll';
  const candidates: Candidate[] = [];
  for (const ep of endpoints) {
    const workload = workloadByUid(ep.workloadUid);
    if (workload === undefined) continue;
    if (ep.status !== 'Healthy' && !allowUnhealthy) continue;
    if (!reachable(workload, source)) continue;
    const port = targetPortFor(service, servicePort, ep, workload);
    if (port === undefined) continue;
    const rank = rankOf(service, workload, source);
    if (rank === undefined) continue;
    candidates.push({ workload, port, rank });
  }
  if (candidates.length === 0) return candidates;
  const maxRank = Math.max(...candidates.map((c) => c.rank));
  return candidates.filter((c) => c.rank === maxRank);
}

export function pickEndpoint(
  service: Service,
  servicePort: number,
  endpoints: readonly Endpoint[],
  workloadByUid: (uid: string) => Workload | undefined,
  source: Workload | undefined,
  random: RandomSource,
): PickedEndpoint | undefined {
  const best = endpointCandidates(service, servicePort, endpoints, workloadByUid, source);
  if (best.length === 0) return undefined;
  const chosen = weightedChoice(best, random);
  return chosen === undefined ? undefined : { workload: chosen.workload, port: chosen.port };
}

/** Weighted by capacity; if every capacity is 0 the choice is uniform rather than impossible. */
function weightedChoice(items: readonly PickedEndpoint[], random: RandomSource): PickedEndpoint | undefined {
  const total = items.reduce((sum, c) => sum + c.workload.capacity, 0);
  if (total <= 0) return items[Math.floor(random() * items.length)] ?? items[0];
  let point = random() * total;
  for (const c of items) {
    point -= c.workload.capacity;
    if (point < 0) return c;
  }
  return items[items.length - 1];
}
