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

/** A Service (or one host of a ServiceEntry) a waypoint serves, with its ports as written. */
export interface ServedService {
  readonly object: KubeObject<'Service'> | KubeObject<'ServiceEntry'>;
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
    const entry = p.group === 'networking.istio.io' && p.kind === 'ServiceEntry';
    if ((isCoreGroup(p.group) && p.kind === 'Service') || entry) {
      // A ServiceEntry parent is every host of it this waypoint serves (Istio attaches to all).
      const hosts = served.filter((s) => s.namespace === parentNs && s.name === p.name && s.object.kind === (entry ? 'ServiceEntry' : 'Service'));
      const reasons = new Set<string>();
      for (const svc of hosts) {
        const { keys, problem } = attachToService(svc, p, ns);
        add(keys);
        if (problem !== undefined) reasons.add(problem);
      }
      for (const reason of reasons) problems.warning(refOf(route), at, reason);
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

/**
 * The ports of one served service a parentRef to it selects, and why none when none (consumer
 * routes are refused); the caller reports each reason once (a ServiceEntry has several hosts).
 */
function attachToService(svc: ServedService, p: ParentRef, ns: string): { keys: string[]; problem?: string } {
  const kind = svc.object.kind;
  if (svc.namespace !== ns) {
    return { keys: [], problem: `consumer route (namespace "${ns}" for ${kind} ${svc.namespace}/${p.name}) is not supported in ambient mode; ignored` };
  }
  const ports = svc.ports.filter((x) => (p.port === undefined || x.port === p.port) && (p.sectionName === undefined || x.name === p.sectionName));
  if (ports.length === 0) {
    const what = [p.port !== undefined ? `port ${p.port}` : '', p.sectionName !== undefined ? `sectionName "${p.sectionName}"` : ''].filter(Boolean).join(' and ');
    return { keys: [], problem: `NoMatchingParent: ${kind} ${svc.namespace}/${p.name} has no port with ${what}` };
  }
  return { keys: ports.map((x) => portKey(svc.hostname, x.port)) };
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
