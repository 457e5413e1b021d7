// Gateway API status of the routes whose parent is a mesh Service (GAMMA) or a waypoint Gateway —
// HTTPRoute, GRPCRoute, TCPRoute — one status.parents[] entry per parentRef this controller owns.
//
// The parent side (does the parent exist and take the route, Istio's ResolvedWaypoints) is read
// from the snapshot here; what the waypoint translation did with the route (ports it lost to a
// conflict, dropped rules, unresolved backends) comes in as a RouteReport per route.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { resolveBackendRef, type BackendRefView } from './backend-refs.js';
import { LABEL, MESH_CONTROLLER, labelsOf } from './labels.js';
import { GATEWAY_GROUP, admitsNamespace, listenersOf, selectsListener } from './listener-admission.js';
import type { RouteKind } from './route-attachment.js';
import { OK, parentConditions, type ParentFacts, type RouteCondition, type Verdict } from './route-conditions.js';
import type { RouteReport } from './route-findings.js';
import { ruleFacts, type RouteRuleFacts, type UnresolvedRef } from './route-problems.js';
import type { TranslateOptions, TranslationError } from './types.js';
import type { WaypointIndex } from './waypoints.js';

export type { RouteCondition } from './route-conditions.js';

export interface ParentRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

/** One status.parents[] entry: the parentRef as written in spec, our controller, conditions. */
export interface RouteParentStatus {
  readonly parentRef: ParentRef;
  readonly controllerName: string;
  readonly conditions: readonly RouteCondition[];
}

export interface RouteStatus {
  readonly kind: RouteKind;
  readonly namespace: string;
  readonly name: string;
  readonly parents: readonly RouteParentStatus[];
  /** The translation's problems with this route (for /debug; not written to the object). */
  readonly problems: readonly TranslationError[];
}

/** Kept for readers of the HTTPRoute-only view. */
export type HttpRouteStatus = RouteStatus;

/** The route kinds whose status this controller writes. */
export const STATUS_KINDS: readonly RouteKind[] = ['HTTPRoute', 'GRPCRoute', 'TCPRoute'];

interface RouteView {
  readonly spec?: {
    readonly parentRefs?: readonly ParentRef[];
    readonly rules?: readonly { readonly backendRefs?: readonly BackendRefView[] }[];
  };
}

const isCore = (group: string | undefined): boolean => group === '' || group === 'core';

/**
 * Status for every route of `kinds` with at least one parent this control plane owns. A parentRef
 * to another kind, or to a Gateway of another class, belongs to another controller and is skipped.
 * `reportOf` gives what the waypoint translation found; without it (the mesh translation's
 * HTTPRoute view) only the parent side and backendRef existence are known.
 */
export function routeStatuses(
  snapshot: ObjectSnapshot,
  waypoints: WaypointIndex,
  options: TranslateOptions,
  reportOf?: (route: KubeObject<RouteKind>) => RouteReport,
  kinds: readonly RouteKind[] = STATUS_KINDS,
): RouteStatus[] {
  const out: RouteStatus[] = [];
  for (const kind of kinds) {
    for (const route of snapshot.list(kind)) {
      const owned = ownedParents(route, snapshot, waypoints);
      if (owned.length === 0) continue;
      const generation = route.metadata.generation ?? 0;
      const report = reportOf?.(route);
      const rules: RouteRuleFacts = report ? ruleFacts(report) : { total: 0, dropped: [], refs: backendRefProblems(route, snapshot, options) };
      const parents = owned.map(({ index, parentRef, facts }) => ({
        parentRef,
        controllerName: MESH_CONTROLLER,
        conditions: parentConditions(generation, { ...facts, ports: report?.parents.get(index) ?? [] }, rules),
      }));
      out.push({ kind, namespace: route.metadata.namespace ?? '', name: route.metadata.name, parents, problems: report?.problems ?? [] });
    }
  }
  return out;
}

/** The mesh translation's view: HTTPRoutes, parent side and backendRef existence only. */
export function httpRouteStatuses(snapshot: ObjectSnapshot, waypoints: WaypointIndex, options: TranslateOptions): HttpRouteStatus[] {
  return routeStatuses(snapshot, waypoints, options, undefined, ['HTTPRoute']);
}

/**
 * Whether each parentRef is ours and takes the route. Service parents: the Service exists, a port
 * matches `port`/`sectionName` (NoMatchingParent), and the route lives in its namespace — consumer
 * routes do not apply in ambient (NotAllowedByListeners); plus ResolvedWaypoints (Istio:
 * MissingUseWaypointLabel when neither the Service nor its namespace sets istio.io/use-waypoint).
 * Waypoint Gateway parents: a listener matching sectionName/port whose allowedRoutes admit the
 * route's namespace.
 */
function ownedParents(route: KubeObject<RouteKind>, snapshot: ObjectSnapshot, waypoints: WaypointIndex): { index: number; parentRef: ParentRef; facts: Omit<ParentFacts, 'ports'> }[] {
  const ns = route.metadata.namespace ?? '';
  const out: { index: number; parentRef: ParentRef; facts: Omit<ParentFacts, 'ports'> }[] = [];
  for (const [index, parentRef] of ((route as unknown as RouteView).spec?.parentRefs ?? []).entries()) {
    const group = parentRef.group ?? GATEWAY_GROUP;
    const kind = parentRef.kind ?? 'Gateway';
    const parentNs = parentRef.namespace ?? ns;
    if (isCore(group) && kind === 'Service') {
      const svc = snapshot.get('Service', parentNs, parentRef.name);
      const waypoint: Verdict = !svc
        ? { ok: false, reason: 'NoMatchingParent', message: 'parent not found' }
        : usesWaypoint(svc, snapshot)
          ? OK
          : { ok: false, reason: 'MissingUseWaypointLabel', message: 'istio.io/use-waypoint label missing from parent and parent namespace; in ambient mode, route will not take effect' };
      out.push({ index, parentRef, facts: { attachment: serviceAccepts(svc, parentRef, parentNs, ns, route.kind), waypoint } });
    } else if (group === GATEWAY_GROUP && kind === 'Gateway') {
      const gw = snapshot.get('Gateway', parentNs, parentRef.name);
      if (gw === undefined) {
        out.push({ index, parentRef, facts: { attachment: { ok: false, reason: 'NoMatchingParent', message: `parent gateway "${parentNs}/${parentRef.name}" not found` } } });
      } else if (waypoints.get(parentNs, parentRef.name) !== undefined) {
        out.push({ index, parentRef, facts: { attachment: gatewayAccepts(gw, parentRef, ns, snapshot) } });
      } // else a Gateway of another class: its controller writes this entry
    }
  }
  return out;
}

function serviceAccepts(svc: KubeObject<'Service'> | undefined, ref: ParentRef, parentNs: string, routeNs: string, kind: RouteKind): Verdict {
  if (svc === undefined) return { ok: false, reason: 'NoMatchingParent', message: `parent service: "${ref.name}" not found` };
  const ports = (svc.spec?.ports ?? []).filter((x) => (ref.port === undefined || x.port === ref.port) && (ref.sectionName === undefined || x.name === ref.sectionName));
  if (ports.length === 0) {
    const what = [ref.port !== undefined ? `port ${ref.port}` : '', ref.sectionName !== undefined ? `sectionName "${ref.sectionName}"` : ''].filter(Boolean).join(' and ');
    return { ok: false, reason: 'NoMatchingParent', message: `Service ${parentNs}/${ref.name} has no port with ${what}` };
  }
  if (parentNs !== routeNs) {
    return {
      ok: false,
      reason: 'NotAllowedByListeners',
      message: `consumer routes are not supported in ambient mode: this ${kind} in namespace "${routeNs}" does not apply to Service ${parentNs}/${ref.name}; only routes in the Service's namespace do`,
    };
  }
  return OK;
}

/** backendRefs that do not resolve, as the route compilers report them (mesh view only). */
function backendRefProblems(route: KubeObject<RouteKind>, snapshot: ObjectSnapshot, options: TranslateOptions): UnresolvedRef[] {
  const out: UnresolvedRef[] = [];
  const ns = route.metadata.namespace ?? '';
  for (const [i, rule] of ((route as unknown as RouteView).spec?.rules ?? []).entries()) {
    for (const [j, b] of (rule.backendRefs ?? []).entries()) {
      const r = resolveBackendRef(b, ns, snapshot, options);
      if (!r.ok) out.push({ reason: r.reason, detail: `spec.rules[${i}].backendRefs[${j}]: ${r.message}` });
    }
  }
  return out;
}

function usesWaypoint(svc: KubeObject<'Service'>, snapshot: ObjectSnapshot): boolean {
  const set = (labels: Readonly<Record<string, string>>): boolean => {
    const v = labels[LABEL.useWaypoint];
    return v !== undefined && v !== '' && v.toLowerCase() !== 'none';
  };
  if (set(labelsOf(svc))) return true;
  const nsObj = snapshot.get('Namespace', undefined, svc.metadata.namespace ?? '');
  return nsObj !== undefined && set(labelsOf(nsObj));
}

/** sectionName/port select listeners (none selected: NoMatchingParent); one must admit the namespace. */
function gatewayAccepts(gw: KubeObject<'Gateway'>, ref: ParentRef, routeNs: string, snapshot: ObjectSnapshot): Verdict {
  const listeners = listenersOf(gw).filter((l) => selectsListener(ref, l));
  if (listeners.length === 0) {
    const what = ref.sectionName !== undefined ? `sectionName "${ref.sectionName}"` : `port ${ref.port}`;
    return { ok: false, reason: 'NoMatchingParent', message: `${what} not found` };
  }
  if (listeners.some((l) => admitsNamespace(l, gw.metadata.namespace ?? '', routeNs, snapshot))) return OK;
  return { ok: false, reason: 'NotAllowedByListeners', message: `namespace "${routeNs}" is not allowed by the parent` };
}
