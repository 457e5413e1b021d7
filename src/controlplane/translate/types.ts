// Inputs and outputs of the mesh translation: the options istiod takes from its mesh config and
// environment, the translated resources for node agents, per-object problems, and route status.

import type { Kind } from '../../k8s/index.js';
import type { Authorization, GatewayAddress, OutboundTrafficPolicy, Service, Workload } from '../../state/index.js';
import type { HttpRouteStatus } from './route-status.js';

export interface TranslateOptions {
  /** Cluster id written into workload uids and Workload.clusterId (istiod's CLUSTER_ID). */
  readonly clusterId: string;
  /** Trust domain of every workload's SPIFFE identity (mesh config trustDomain). */
  readonly trustDomain: string;
  /** DNS suffix of Service hostnames: `<name>.<ns>.svc.<domainSuffix>` (usually cluster.local). */
  readonly domainSuffix: string;
  /** Istio's root namespace (usually istio-system): mesh-wide policies live here. */
  readonly rootNamespace: string;
  /** Network of every workload and VIP of this cluster ('' = the default network). */
  readonly network: string;
  /**
   * meshConfig.outboundTrafficPolicy.mode, written on every pod Workload for its node agent
   * (absent = ALLOW_ANY, nothing written: what istiod sends).
   */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

/** The object a problem is about. */
export interface ObjectRef {
  readonly kind: Kind;
  readonly namespace: string | undefined;
  readonly name: string;
}

/**
 * One object that translated badly. `error`: the object (or the named part of it) was left out;
 * `warning`: it was translated, but not as written (istiod reports these as status conditions,
 * e.g. an L4 policy holding HTTP rules). A problem never stops the rest of the translation.
 */
export interface TranslationError {
  readonly object: ObjectRef;
  /** Path of the offending field, e.g. `spec.rules[0].to[0].operation.methods`. */
  readonly field: string;
  readonly reason: string;
  readonly severity: 'error' | 'warning';
}

/** What translation knows about one waypoint (a Gateway of class istio-waypoint). */
export interface WaypointInfo {
  readonly namespace: string;
  readonly name: string;
  /** `istio.io/waypoint-for`: which traffic the waypoint takes (default service). */
  readonly trafficType: string;
  /** Where node agents reach it; undefined while it has no address (istiod: not ready). */
  readonly address: GatewayAddress | undefined;
}

/**
 * The result of translating one snapshot for the node agents (istiod's ambient index: the
 * `istio.workload.Address` and `istio.security.Authorization` resources it serves ztunnel).
 *
 * Where the waypoint translation plugs in: the L7 side (HTTPRoute, GRPCRoute, TCPRoute,
 * VirtualService, DestinationRule, AuthorizationPolicy with targetRefs, RequestAuthentication)
 * is a separate pure function of the same snapshot plus this result, one call per entry of
 * `waypoints`: the services and workloads a waypoint serves are those whose `waypoint` names
 * its address, and AuthorizationPolicies with targetRefs are exactly the ones left out of
 * `policies` here. It adds its own output type next to this one and never changes these
 * resources (istiod's waypoint xDS is likewise built beside the ambient index, not inside it).
 */
export interface MeshTranslation {
  /** Sorted by uid. */
  readonly workloads: readonly Workload[];
  /** Sorted by `namespace/hostname`. */
  readonly services: readonly Service[];
  /** Sorted by `namespace/name`. */
  readonly policies: readonly Authorization[];
  /** Waypoints found, sorted by `namespace/name`: the seam for the waypoint translation. */
  readonly waypoints: readonly WaypointInfo[];
  /**
   * Gateway API status for each HTTPRoute this control plane owns a parent of, as far as the mesh
   * alone knows (parents, backendRef existence). The full status — every route kind, conflicts,
   * dropped rules — is WaypointTranslation.routeStatus, which `ambit control` writes.
   */
  readonly httpRouteStatus: readonly HttpRouteStatus[];
  readonly errors: readonly TranslationError[];
}

/** Collects problems; translation code reports and carries on. */
export class Problems {
  readonly list: TranslationError[] = [];

  error(object: ObjectRef, field: string, reason: string): void {
    this.list.push({ object, field, reason, severity: 'error' });
  }

  warning(object: ObjectRef, field: string, reason: string): void {
    this.list.push({ object, field, reason, severity: 'warning' });
  }
}

export function refOf(o: { readonly kind: Kind; readonly metadata: { readonly namespace?: string; readonly name: string } }): ObjectRef {
  return { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
}
