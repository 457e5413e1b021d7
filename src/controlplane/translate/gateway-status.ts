// Gateway API status of the waypoint Gateways (class istio-waypoint) this controller owns, as
// istiod's gateway controller reports them (pilot/pkg/config/kube/gateway conversion.go
// reportGatewayStatus, buildListener; context.go ResolveGatewayInstances) — pure, per snapshot.
//
// Gateway: Accepted is always True (istiod: listener errors live on the listener); Programmed is
// True once the waypoint's Service (named after the Gateway, in its namespace) has instances on
// every listener port, else False AddressNotAssigned/AddressNotUsable with istiod's message.
// addresses: the Service's ClusterIP(s), then its hostname, only once it has instances; before
// that `undefined` — the writer then leaves what the Gateway holds (istiod never removes an address
// it reported). Listeners: Accepted False UnsupportedProtocol unless port 15008 and protocol HBONE,
// supportedKinds, and attachedRoutes counted as the spec defines (parentRefs and allowedRoutes only).

import { isIP } from 'node:net';
import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { LABEL, labelsOf, serviceHostname } from './labels.js';
import { GATEWAY_GROUP, admitsNamespace, listenersOf, selectsListener, supportedKinds, type ListenerView, type RouteGroupKind } from './listener-admission.js';
import type { RouteKind } from './route-attachment.js';
import type { ParentRef } from './route-status.js';
import type { TranslateOptions } from './types.js';
import { HBONE_PORT, type WaypointIndex } from './waypoints.js';

export type { RouteGroupKind } from './listener-admission.js';

/** A metav1.Condition without lastTransitionTime (the writer keeps or sets it). */
export interface GatewayCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration: number;
}

export interface GatewayListenerStatus {
  readonly name: string;
  readonly supportedKinds: readonly RouteGroupKind[];
  readonly attachedRoutes: number;
  readonly conditions: readonly GatewayCondition[];
}

export interface GatewayStatusAddress {
  readonly type: 'IPAddress' | 'Hostname';
  readonly value: string;
}

export interface GatewayStatus {
  readonly namespace: string;
  readonly name: string;
  /** undefined: nothing to report yet; what the Gateway holds stays. */
  readonly addresses: readonly GatewayStatusAddress[] | undefined;
  readonly conditions: readonly GatewayCondition[];
  readonly listeners: readonly GatewayListenerStatus[];
}

/** The condition types this controller sets; any other type on the object belongs to someone else. */
export const GATEWAY_CONDITION_TYPES: readonly string[] = ['Accepted', 'Programmed'];
export const LISTENER_CONDITION_TYPES: readonly string[] = ['Accepted', 'Conflicted', 'Programmed', 'ResolvedRefs'];

/** The kinds whose parentRefs count towards attachedRoutes (the kinds route status is written for). */
const ROUTE_KINDS: readonly RouteKind[] = ['HTTPRoute', 'GRPCRoute', 'TCPRoute'];

const NO_ERRORS = 'No errors found';

/** Status of every waypoint Gateway in `waypoints` (those of class istio-waypoint), sorted by namespace/name. */
export function gatewayStatuses(snapshot: ObjectSnapshot, waypoints: WaypointIndex, options: TranslateOptions): GatewayStatus[] {
  const routes = routesByGateway(snapshot);
  const out: GatewayStatus[] = [];
  for (const wp of waypoints.all()) {
    const gw = snapshot.get('Gateway', wp.namespace, wp.name);
    if (gw === undefined) continue;
    out.push(gatewayStatus(gw, snapshot, options, routes.get(`${wp.namespace}/${wp.name}`) ?? []));
  }
  return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

interface ParentedRoute {
  readonly route: KubeObject<RouteKind>;
  /** This route's parentRefs that name the Gateway. */
  readonly refs: readonly ParentRef[];
}

/** `namespace/name` of a Gateway → the routes with a parentRef to it. */
function routesByGateway(snapshot: ObjectSnapshot): Map<string, ParentedRoute[]> {
  const out = new Map<string, ParentedRoute[]>();
  for (const kind of ROUTE_KINDS) {
    for (const route of snapshot.list(kind)) {
      const ns = route.metadata.namespace ?? '';
      const byGateway = new Map<string, ParentRef[]>();
      for (const ref of (route.spec as { parentRefs?: readonly ParentRef[] } | undefined)?.parentRefs ?? []) {
        if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') continue;
        const key = `${ref.namespace ?? ns}/${ref.name}`;
        const refs = byGateway.get(key);
        if (refs === undefined) byGateway.set(key, [ref]);
        else refs.push(ref);
      }
      for (const [key, refs] of byGateway) {
        const list = out.get(key);
        if (list === undefined) out.set(key, [{ route, refs }]);
        else list.push({ route, refs });
      }
    }
  }
  return out;
}

function gatewayStatus(gw: KubeObject<'Gateway'>, snapshot: ObjectSnapshot, options: TranslateOptions, routes: readonly ParentedRoute[]): GatewayStatus {
  const namespace = gw.metadata.namespace ?? '';
  const generation = gw.metadata.generation ?? 0;
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string): GatewayCondition => ({ type, status, reason, message, observedGeneration: generation });
  const listeners = listenersOf(gw);
  const ports = [...new Set(listeners.map((l) => l.port).filter((p): p is number => p !== undefined))].sort((a, b) => a - b);
  const r = resolveInstances(snapshot.get('Service', namespace, gw.metadata.name), serviceHostname(gw.metadata.name, namespace, options.domainSuffix), ports, snapshot);
  return {
    namespace,
    name: gw.metadata.name,
    addresses: reportedAddresses(r),
    conditions: [cond('Accepted', 'True', 'Accepted', 'Resource accepted'), programmed(r, cond)],
    listeners: listeners.map((l) => listenerStatus(l, gw, snapshot, routes, cond)),
  };
}

/** What istiod's ResolveGatewayInstances finds for the Gateway's one Service, at the listeners' ports. */
interface Instances {
  /** `hostname:port` with instances. */
  readonly internal: string[];
  /** The Service's ClusterIPs, when some port has instances. */
  readonly internalIps: string[];
  /** LoadBalancer ingress IPs/hostnames. */
  readonly external: string[];
  /** User-facing reasons some address could not be assigned, sorted. */
  readonly warnings: string[];
  /** False when some warning means the address can never work as configured (AddressNotUsable). */
  readonly allUsable: boolean;
}

interface ServiceView {
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly ports?: readonly { readonly name?: string; readonly port?: number }[];
  };
  readonly status?: { readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[] } };
}

function resolveInstances(svcObj: KubeObject<'Service'> | undefined, hostname: string, ports: readonly number[], snapshot: ObjectSnapshot): Instances {
  const r: Instances = { internal: [], internalIps: [], external: [], warnings: [], allUsable: true };
  if (svcObj === undefined) {
    return { ...r, warnings: [`hostname "${hostname}" not found`], allUsable: false };
  }
  const svc = svcObj as unknown as ServiceView;
  const ready = readyPortNames(svcObj, snapshot);
  const managed = labelsOf(svcObj)[LABEL.gatewayManaged] !== undefined;
  let usable = true;
  for (const port of ports) {
    const svcPort = svc.spec?.ports?.find((p) => p.port === port);
    if (svcPort !== undefined && ready.has(svcPort.name ?? '')) {
      r.internal.push(`${hostname}:${port}`);
      for (const ip of svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]) {
        if (ip !== undefined && isIP(ip) !== 0 && !r.internalIps.includes(ip)) r.internalIps.push(ip);
      }
      if (svc.spec?.type === 'LoadBalancer') {
        const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname).filter((x): x is string => !!x);
        for (const x of ingress) if (!r.external.includes(x)) r.external.push(x);
        const pending = `address pending for hostname "${hostname}"`;
        if (ingress.length === 0 && !r.warnings.includes(pending)) r.warnings.push(pending);
      }
    } else if (ready.size === 0) {
      const none = `no instances found for hostname "${hostname}"`;
      if (!r.warnings.includes(none)) r.warnings.push(none);
    } else if (!managed || svcPort === undefined) {
      // Istio's own Service (gateway.istio.io/managed) with the port declared only lags its endpoints.
      r.warnings.push(`port ${port} not found for hostname "${hostname}"`);
      usable = false;
    }
  }
  r.warnings.sort();
  return { ...r, allUsable: usable };
}

/**
 * Names of the Service's ports that have a ready endpoint in one of its EndpointSlices (label
 * kubernetes.io/service-name; `conditions.ready` unset means ready, as the API defines it). An
 * unnamed port is ''.
 */
function readyPortNames(svc: KubeObject<'Service'>, snapshot: ObjectSnapshot): Set<string> {
  const out = new Set<string>();
  for (const slice of snapshot.list('EndpointSlice', svc.metadata.namespace)) {
    if (labelsOf(slice)[LABEL.serviceName] !== svc.metadata.name) continue;
    if (!slice.endpoints.some((e) => e.conditions?.ready !== false && e.addresses.length > 0)) continue;
    for (const p of slice.ports ?? []) out.add(p.name ?? '');
  }
  return out;
}

/** istiod setProgrammedCondition. */
function programmed(r: Instances, cond: (t: string, s: 'True' | 'False', reason: string, m: string) => GatewayCondition): GatewayCondition {
  const internal = joinHuman(r.internal);
  if (r.warnings.length === 0) {
    return cond('Programmed', 'True', 'Programmed', r.internal.length > 0 ? `Resource programmed, assigned to service(s) ${internal}` : 'Resource programmed');
  }
  const warnings = r.warnings.join('; ');
  const message = r.internal.length > 0
    ? `Assigned to service(s) ${internal}, but failed to assign to all requested addresses: ${warnings}`
    : `Failed to assign to any requested addresses: ${warnings}`;
  return cond('Programmed', 'False', r.allUsable ? 'AddressNotAssigned' : 'AddressNotUsable', message);
}

/**
 * istiod reportGatewayStatus for the waypoint class (address type unset: both): external addresses
 * if any, else the ClusterIPs then the Service hostname — only where instances exist.
 */
function reportedAddresses(r: Instances): GatewayStatusAddress[] | undefined {
  const values = r.external.length > 0 ? r.external : [...r.internalIps, ...new Set(r.internal.map((h) => h.slice(0, h.lastIndexOf(':'))))];
  if (values.length === 0) return undefined;
  return values.map((value) => ({ type: isIP(value) !== 0 ? 'IPAddress' : 'Hostname', value }));
}

function listenerStatus(
  l: ListenerView,
  gw: KubeObject<'Gateway'>,
  snapshot: ObjectSnapshot,
  routes: readonly ParentedRoute[],
  cond: (t: string, s: 'True' | 'False', reason: string, m: string) => GatewayCondition,
): GatewayListenerStatus {
  const { kinds, valid } = supportedKinds(l);
  // istiod buildListener: a waypoint takes one listener, HBONE on 15008; others are kept but flagged.
  const accepted = l.port === HBONE_PORT && l.protocol === 'HBONE'
    ? cond('Accepted', 'True', 'Accepted', NO_ERRORS)
    : cond('Accepted', 'False', 'UnsupportedProtocol', `Expected a single listener on port ${HBONE_PORT} with protocol "HBONE"`);
  const gwNs = gw.metadata.namespace ?? '';
  // Spec (ListenerStatus.attachedRoutes): selected by a parentRef AND by allowedRoutes, whatever
  // either's status; a route counts once however many of its parentRefs select the listener.
  const attached = routes.filter(({ route, refs }) =>
    refs.some((ref) => selectsListener(ref, l))
    && admitsNamespace(l, gwNs, route.metadata.namespace ?? '', snapshot)
    && kinds.some((k) => k.kind === route.kind)).length;
  return {
    name: l.name ?? '',
    supportedKinds: kinds,
    attachedRoutes: attached,
    conditions: [
      accepted,
      cond('Conflicted', 'False', 'NoConflicts', NO_ERRORS),
      cond('Programmed', 'True', 'Programmed', NO_ERRORS),
      valid ? cond('ResolvedRefs', 'True', 'ResolvedRefs', NO_ERRORS) : cond('ResolvedRefs', 'False', 'InvalidRouteKinds', 'Invalid route kinds'),
    ],
  };
}

/** "a", "a and b", "a, b, and c" (istiod humanReadableJoin). */
function joinHuman(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}`;
}
