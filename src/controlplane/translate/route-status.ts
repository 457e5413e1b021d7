// Gateway API status of HTTPRoutes whose parent is a mesh Service (GAMMA) or a waypoint Gateway:
// the Accepted and ResolvedRefs conditions (and Istio's ResolvedWaypoints), as pure data.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { LABEL, MESH_CONTROLLER, labelsOf, matchesLabelSelector, serviceHostname, type LabelSelector } from './labels.js';
import type { TranslateOptions } from './types.js';
import type { WaypointIndex } from './waypoints.js';

export interface ParentRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export interface RouteCondition {
  readonly type: 'Accepted' | 'ResolvedRefs' | 'ResolvedWaypoints';
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration: number;
}

/** One status.parents[] entry: the parentRef as written in spec, our controller, conditions. */
export interface RouteParentStatus {
  readonly parentRef: ParentRef;
  readonly controllerName: string;
  readonly conditions: readonly RouteCondition[];
}

export interface HttpRouteStatus {
  readonly namespace: string;
  readonly name: string;
  readonly parents: readonly RouteParentStatus[];
}

interface BackendRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
}

interface RouteView {
  readonly spec?: { readonly parentRefs?: readonly ParentRef[]; readonly rules?: readonly { readonly backendRefs?: readonly BackendRef[] }[] };
}

interface ListenerView {
  readonly name?: string;
  readonly port?: number;
  readonly allowedRoutes?: { readonly namespaces?: { readonly from?: string; readonly selector?: LabelSelector } };
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const isCore = (group: string | undefined): boolean => group === '' || group === 'core';

type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly message: string };
const OK: Verdict = { ok: true };

/**
 * Status for every HTTPRoute with at least one parent this control plane owns. A parentRef to
 * another kind, or to a Gateway of another class, belongs to another controller and is skipped.
 * Accepted: a Service parent that exists, or a waypoint Gateway with a listener that matches the
 * sectionName/port and whose allowedRoutes admit the route's namespace; else False with the
 * spec's reason (NoMatchingParent, NotAllowedByListeners). ResolvedRefs: every backendRef is a
 * core Service that exists (False: BackendNotFound, or InvalidKind for other kinds; the first
 * failing reference is reported). ResolvedWaypoints (Istio only, Service parents): False with
 * MissingUseWaypointLabel when neither the Service nor its namespace sets istio.io/use-waypoint,
 * i.e. the route cannot take effect in ambient.
 */
export function httpRouteStatuses(snapshot: ObjectSnapshot, waypoints: WaypointIndex, options: TranslateOptions): HttpRouteStatus[] {
  const out: HttpRouteStatus[] = [];
  for (const route of snapshot.list('HTTPRoute')) {
    const ns = route.metadata.namespace ?? '';
    const generation = route.metadata.generation ?? 0;
    const spec = (route as unknown as RouteView).spec ?? {};
    const refs = resolvedRefs(spec.rules ?? [], ns, snapshot, options);
    const cond = (type: RouteCondition['type'], v: Verdict, okReason: string, okMessage: string): RouteCondition =>
      v.ok
        ? { type, status: 'True', reason: okReason, message: okMessage, observedGeneration: generation }
        : { type, status: 'False', reason: v.reason, message: v.message, observedGeneration: generation };
    const parents: RouteParentStatus[] = [];
    for (const parentRef of spec.parentRefs ?? []) {
      const group = parentRef.group ?? GATEWAY_GROUP;
      const kind = parentRef.kind ?? 'Gateway';
      const parentNs = parentRef.namespace ?? ns;
      let accepted: Verdict;
      let waypointCond: RouteCondition | undefined;
      if (isCore(group) && kind === 'Service') {
        const svc = snapshot.get('Service', parentNs, parentRef.name);
        accepted = svc ? OK : { ok: false, reason: 'NoMatchingParent', message: `parent service: "${parentRef.name}" not found` };
        const wp: Verdict = !svc
          ? { ok: false, reason: 'NoMatchingParent', message: 'parent not found' }
          : usesWaypoint(svc, snapshot)
            ? OK
            : { ok: false, reason: 'MissingUseWaypointLabel', message: 'istio.io/use-waypoint label missing from parent and parent namespace; in ambient mode, route will not take effect' };
        waypointCond = cond('ResolvedWaypoints', wp, 'ResolvedWaypoints', 'All waypoints resolved');
      } else if (group === GATEWAY_GROUP && kind === 'Gateway') {
        const gw = snapshot.get('Gateway', parentNs, parentRef.name);
        if (gw === undefined) {
          accepted = { ok: false, reason: 'NoMatchingParent', message: `parent gateway "${parentNs}/${parentRef.name}" not found` };
        } else if (waypoints.get(parentNs, parentRef.name) === undefined) {
          continue; // a Gateway of another class: its controller writes this entry
        } else {
          accepted = gatewayAccepts(gw, parentRef, ns, snapshot);
        }
      } else {
        continue;
      }
      const conditions = [cond('Accepted', accepted, 'Accepted', 'Route was valid'), cond('ResolvedRefs', refs, 'ResolvedRefs', 'All references resolved')];
      if (waypointCond) conditions.push(waypointCond);
      parents.push({ parentRef, controllerName: MESH_CONTROLLER, conditions });
    }
    if (parents.length > 0) out.push({ namespace: ns, name: route.metadata.name, parents });
  }
  return out;
}

function resolvedRefs(rules: NonNullable<NonNullable<RouteView['spec']>['rules']>, ns: string, snapshot: ObjectSnapshot, options: TranslateOptions): Verdict {
  for (const rule of rules) {
    for (const b of rule.backendRefs ?? []) {
      const group = b.group ?? '';
      const kind = b.kind ?? 'Service';
      if (!isCore(group) || kind !== 'Service') {
        return { ok: false, reason: 'InvalidKind', message: `referencing unsupported backendRef: group "${group}" kind "${kind}"` };
      }
      const bns = b.namespace ?? ns;
      if (snapshot.get('Service', bns, b.name) === undefined) {
        return { ok: false, reason: 'BackendNotFound', message: `backend(${serviceHostname(b.name, bns, options.domainSuffix)}) not found` };
      }
    }
  }
  return OK;
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
  const listeners = ((gw.spec as { listeners?: readonly ListenerView[] } | undefined)?.listeners ?? []).filter(
    (l) => (ref.sectionName === undefined || l.name === ref.sectionName) && (ref.port === undefined || l.port === ref.port),
  );
  if (listeners.length === 0) {
    const what = ref.sectionName !== undefined ? `sectionName "${ref.sectionName}"` : `port ${ref.port}`;
    return { ok: false, reason: 'NoMatchingParent', message: `${what} not found` };
  }
  const nsObj = snapshot.get('Namespace', undefined, routeNs);
  const admits = (l: ListenerView): boolean => {
    const from = l.allowedRoutes?.namespaces?.from ?? 'Same';
    if (from === 'All') return true;
    const sel = l.allowedRoutes?.namespaces?.selector;
    if (from === 'Selector') return sel !== undefined && matchesLabelSelector(sel, nsObj ? labelsOf(nsObj) : {});
    return routeNs === gw.metadata.namespace;
  };
  if (listeners.some(admits)) return OK;
  return { ok: false, reason: 'NotAllowedByListeners', message: `namespace "${routeNs}" is not allowed by the parent` };
}
