// Which service ports of one waypoint a route attaches to, from its parentRefs (GEP-1294 mesh
// attachment): a Service it serves (optionally one port, by `port` or `sectionName` = port name)
// or the waypoint Gateway itself (every port of every service it serves).
//
// Consumer routes (route namespace ≠ Service namespace) are not supported in ambient, as in Istio
// (its ambient conformance run drops MeshConsumerRoute): reported and ignored.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { isCoreGroup } from './backend-refs.js';
import { labelsOf, matchesLabelSelector } from './labels.js';
import type { ParentRef } from './route-status.js';
import type { Problems } from './types.js';
import { refOf } from './types.js';
import type { Waypoint } from './waypoints.js';

/** A Service a waypoint serves, with its ports as written. */
export interface ServedService {
  readonly object: KubeObject<'Service'>;
  readonly namespace: string;
  readonly name: string;
  readonly hostname: string;
  readonly ports: readonly { readonly port: number; readonly name: string; readonly appProtocol?: string }[];
}

export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TCPRoute';

/** `hostname:port` of a served service port. */
export const portKey = (hostname: string, port: number): string => `${hostname}:${port}`;

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/**
 * The served ports (`portKey`s) `route` attaches to at waypoint `wp`; problems go to `problems`.
 * `onParent(i, keys)`: the ports parentRefs[i] selects here (only for parents that select any),
 * what route status reports per parent.
 */
export function attachedPorts(
  route: KubeObject<RouteKind>,
  wp: Waypoint,
  served: readonly ServedService[],
  snapshot: ObjectSnapshot,
  problems: Problems,
  onParent?: (index: number, keys: readonly string[]) => void,
): Set<string> {
  const out = new Set<string>();
  const ns = route.metadata.namespace ?? '';
  const parents = (route.spec as { parentRefs?: readonly ParentRef[] } | undefined)?.parentRefs ?? [];
  for (const [i, p] of parents.entries()) {
    const at = `spec.parentRefs[${i}]`;
    const add = (keys: readonly string[]): void => {
      for (const k of keys) out.add(k);
      if (keys.length > 0) onParent?.(i, keys);
    };
    const parentNs = p.namespace ?? ns;
    if (isCoreGroup(p.group) && p.kind === 'Service') {
      const svc = served.find((s) => s.namespace === parentNs && s.name === p.name);
      if (svc === undefined) continue; // not this waypoint's (route status says why it has no effect)
      if (parentNs !== ns) {
        problems.warning(refOf(route), at, `consumer route (namespace "${ns}" for Service ${parentNs}/${p.name}) is not supported in ambient mode; ignored`);
        continue;
      }
      const ports = svc.ports.filter((x) => (p.port === undefined || x.port === p.port) && (p.sectionName === undefined || x.name === p.sectionName));
      if (ports.length === 0) {
        const what = [p.port !== undefined ? `port ${p.port}` : '', p.sectionName !== undefined ? `sectionName "${p.sectionName}"` : ''].filter(Boolean).join(' and ');
        problems.warning(refOf(route), at, `NoMatchingParent: Service ${parentNs}/${p.name} has no port with ${what}`);
      }
      add(ports.map((x) => portKey(svc.hostname, x.port)));
    } else if ((p.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && (p.kind ?? 'Gateway') === 'Gateway' && parentNs === wp.namespace && p.name === wp.name) {
      if (!admits(wp, ns, snapshot)) {
        problems.warning(refOf(route), at, `NotAllowedByListeners: namespace "${ns}" may not attach routes to waypoint ${wp.namespace}/${wp.name}`);
        continue;
      }
      add(served.flatMap((s) => s.ports.map((x) => portKey(s.hostname, x.port))));
    }
  }
  return out;
}

/** The waypoint listener's allowedRoutes.namespaces (Same by default). */
function admits(wp: Waypoint, routeNs: string, snapshot: ObjectSnapshot): boolean {
  if (wp.allowedFrom === 'All') return true;
  if (wp.allowedFrom === 'Selector') {
    const nsObj = snapshot.get('Namespace', undefined, routeNs);
    return wp.allowedSelector !== undefined && matchesLabelSelector(wp.allowedSelector, nsObj ? labelsOf(nsObj) : {});
  }
  return routeNs === wp.namespace;
}
