// translateWaypoints: the L7 side of the translation. For each waypoint of a MeshTranslation, the
// WaypointConfig (src/waypoint/model/route-model.ts) of the services it serves: ports, protocols,
// HTTPRoute/GRPCRoute routes in precedence order, TCPRoute backends, or the VirtualService that
// owns the service; every cluster they name, with its host's DestinationRule applied.
//
// Pure: same snapshot and mesh ⇒ same output. A bad rule is dropped and a bad route never affects
// another; problems are reported once per route object, even when it attaches at several ports.
//
// VirtualService vs Gateway API routes on one Service (Istio: mixing is unsupported, the result
// depends on object age): the VirtualService owns every port of the Service; HTTPRoutes,
// GRPCRoutes and TCPRoutes attached to it are reported `Conflicted` there. Never merged.
//
// Route status comes out of the same pass (routeStatus): what happened to each route at each port
// it attaches to, and which of its rules compiled.

import { isDeepStrictEqual } from 'node:util';
import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import {
  WAYPOINT_CONFIG_VERSION, type Cluster, type PortProtocol, type Route, type ServiceConfig, type ServicePortConfig, type WaypointConfig,
} from '../../waypoint/model/route-model.js';
import { withDestinationRule } from './destination-rule-policy.js';
import { DestinationRuleIndex } from './destination-rules.js';
import { ServiceHosts } from './istio-hosts.js';
import { EntryHosts, servedServiceOf, servedCluster } from './served-service-entries.js';
import { ServiceEndpoints } from './subsets.js';
import { UniqueProblems } from './unique-problems.js';
import { VirtualServiceIndex } from './virtual-service-attachment.js';
import type { VsContext } from './virtual-service-context.js';
import { virtualServicePortConfig } from './virtual-service-ports.js';
import { compileGrpcRoute } from './grpc-route-compile.js';
import { compileHttpRoute, type CompiledRoute } from './http-route-compile.js';
import { detectPortProtocol, isHttpProtocol } from './port-protocol.js';
import { attachedPorts, portKey, type RouteKind, type ServedService } from './route-attachment.js';
import type { RouteContext } from './route-context.js';
import { APPLIED, RouteFindings } from './route-findings.js';
import { gatewayStatuses, type GatewayStatus } from './gateway-status.js';
import { routeStatuses, type RouteStatus } from './route-status.js';
import { sortByPrecedence } from './route-precedence.js';
import { compileTcpRoute, type CompiledTcpRoute } from './tcp-route-compile.js';
import { Problems, refOf, type MeshTranslation, type TranslateOptions, type TranslationError, type WaypointInfo } from './types.js';
import { WaypointSecurityIndex } from './waypoint-security-config.js';
import { WaypointIndex } from './waypoints.js';

export interface WaypointTranslation {
  /** One per entry of MeshTranslation.waypoints, same order. */
  readonly configs: readonly WaypointConfig[];
  readonly errors: readonly TranslationError[];
  /**
   * Gateway API status of every HTTPRoute, GRPCRoute and TCPRoute with a parent this controller
   * owns, including routes no waypoint serves (compiled for their status only; their problems are
   * in their status entry, not in `errors`).
   */
  readonly routeStatus: readonly RouteStatus[];
  /** Gateway API status of every waypoint Gateway (class istio-waypoint): addresses, Programmed, listeners' attachedRoutes. */
  readonly gatewayStatus: readonly GatewayStatus[];
}

/** Route kinds on one Service port: only the first kind present applies (GEP-1294). */
const KIND_ORDER: readonly RouteKind[] = ['GRPCRoute', 'HTTPRoute', 'TCPRoute'];

/** What VirtualService/DestinationRule translation shares across waypoints. */
interface IstioInputs {
  readonly services: ServiceHosts;
  readonly entryHosts: EntryHosts;
  readonly endpoints: ServiceEndpoints;
  readonly problems: UniqueProblems;
}

type Compiled = { readonly kind: 'HTTPRoute' | 'GRPCRoute'; readonly value: CompiledRoute } | { readonly kind: 'TCPRoute'; readonly value: CompiledTcpRoute };

const byString = <T>(key: (t: T) => string) => (a: T, b: T): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

export function translateWaypoints(snapshot: ObjectSnapshot, mesh: MeshTranslation, options: TranslateOptions): WaypointTranslation {
  const problems = new Problems();
  // Attachment reads allowedRoutes, which WaypointInfo does not carry; its own problems were
  // already reported by the mesh translation.
  const index = new WaypointIndex(snapshot, options, new Problems());
  const routeProblems = new Map<KubeObject, Problems>();
  const compiled = new Map<KubeObject, Compiled>();
  const findings = new RouteFindings();
  const compile = (route: KubeObject<RouteKind>): Compiled => {
    let c = compiled.get(route);
    if (c !== undefined) return c;
    const p = new Problems();
    routeProblems.set(route, p);
    const ctx: RouteContext = { object: refOf(route), namespace: route.metadata.namespace ?? '', snapshot, options, problems: p };
    if (route.kind === 'HTTPRoute') c = { kind: 'HTTPRoute', value: compileHttpRoute(route as KubeObject<'HTTPRoute'>, ctx) };
    else if (route.kind === 'GRPCRoute') c = { kind: 'GRPCRoute', value: compileGrpcRoute(route as KubeObject<'GRPCRoute'>, ctx) };
    else c = { kind: 'TCPRoute', value: compileTcpRoute(route as KubeObject<'TCPRoute'>, ctx) };
    compiled.set(route, c);
    // A TCPRoute uses its first rule only; HTTP/gRPC rules that compiled left model routes.
    const rules = (route.spec as { rules?: readonly unknown[] } | undefined)?.rules ?? [];
    findings.compiled(route, c.kind === 'TCPRoute' ? new Set(rules.length > 0 ? [0] : []) : new Set(c.value.entries.map((e) => e.route.source.rule)));
    return c;
  };
  // VirtualServices and DestinationRules are compiled per waypoint, port and cluster: each
  // problem is reported once.
  const istio: IstioInputs = {
    services: new ServiceHosts(snapshot, options.domainSuffix),
    entryHosts: new EntryHosts(snapshot, mesh.services),
    endpoints: new ServiceEndpoints(mesh, snapshot),
    problems: new UniqueProblems(),
  };
  // AuthorizationPolicy / RequestAuthentication with targetRefs: translated once, attached per waypoint.
  const security = new WaypointSecurityIndex(snapshot, options, problems);
  const configs = mesh.waypoints.map((info) => {
    const cfg = waypointConfig(info, index, snapshot, mesh, options, problems, compile, istio, findings);
    const sec = security.forWaypoint(info, servedServices(info, snapshot, mesh));
    return sec === undefined ? cfg : { ...cfg, security: sec };
  });
  const errors = [...problems.list, ...istio.problems.list];
  for (const p of routeProblems.values()) errors.push(...p.list);
  const translated = new Set(routeProblems.keys());
  const byObject = new Map<string, TranslationError[]>();
  const objectKey = (o: { kind: string; namespace?: string | undefined; name: string }): string => `${o.kind}/${o.namespace ?? ''}/${o.name}`;
  for (const e of errors) {
    const k = objectKey(e.object);
    const list = byObject.get(k);
    if (list === undefined) byObject.set(k, [e]);
    else list.push(e);
  }
  const routeStatus = routeStatuses(snapshot, index, options, (route) => {
    compile(route);
    const own = byObject.get(objectKey({ kind: route.kind, namespace: route.metadata.namespace, name: route.metadata.name })) ?? [];
    return findings.report(route, translated.has(route) ? own : [...own, ...(routeProblems.get(route)?.list ?? [])]);
  });
  return { configs, errors, routeStatus, gatewayStatus: gatewayStatuses(snapshot, index, options) };
}

/** The Services (and ServiceEntry hosts) whose translated `waypoint` is this waypoint's address, sorted by namespace/hostname. */
export function servedServices(info: WaypointInfo, snapshot: ObjectSnapshot, mesh: MeshTranslation): ServedService[] {
  if (info.address === undefined) return [];
  const out: ServedService[] = [];
  for (const s of mesh.services) {
    if (!isDeepStrictEqual(s.waypoint, info.address)) continue;
    const served = servedServiceOf(s, snapshot);
    if (served !== undefined) out.push(served);
  }
  return out.sort(byString((s) => `${s.namespace}/${s.hostname}`));
}

function waypointConfig(
  info: WaypointInfo,
  index: WaypointIndex,
  snapshot: ObjectSnapshot,
  mesh: MeshTranslation,
  options: TranslateOptions,
  problems: Problems,
  compile: (r: KubeObject<RouteKind>) => Compiled,
  istio: IstioInputs,
  findings: RouteFindings,
): WaypointConfig {
  const served = servedServices(info, snapshot, mesh);
  const destinationRules = new DestinationRuleIndex(snapshot, options, info.namespace, istio.problems);
  const virtualServices = new VirtualServiceIndex(snapshot, options, info.namespace, istio.problems);
  const wp = index.get(info.namespace, info.name);
  /** portKey → kind → routes attached there. */
  const attached = new Map<string, Map<RouteKind, KubeObject<RouteKind>[]>>();
  if (wp !== undefined) {
    for (const kind of KIND_ORDER) {
      for (const route of snapshot.list(kind)) {
        const onParent = (i: number, keys: readonly string[]): void => findings.attached(route, i, keys);
        for (const key of attachedPorts(route, wp, served, snapshot, problems, onParent)) {
          let byKind = attached.get(key);
          if (byKind === undefined) attached.set(key, (byKind = new Map()));
          let list = byKind.get(kind);
          if (list === undefined) byKind.set(kind, (list = []));
          list.push(route);
        }
      }
    }
  }
  const clusters = new Map<string, Cluster>();
  const services: ServiceConfig[] = served.map((svc) => {
    const vs = virtualServices.forService(svc);
    if (vs === undefined) {
      return {
        hostname: svc.hostname,
        namespace: svc.namespace,
        ports: svc.ports
          .map((p) => portConfig(svc, p, attached.get(portKey(svc.hostname, p.port)), options, problems, compile, clusters, findings))
          .sort((a, b) => a.port - b.port),
      };
    }
    reportConflicts(svc, vs, attached, problems, findings);
    const base: Omit<VsContext, 'listenPort'> = {
      object: refOf(vs), namespace: vs.metadata.namespace ?? '', options, problems: istio.problems,
      services: istio.services, entryHosts: istio.entryHosts, destinationRules, endpoints: istio.endpoints,
    };
    return {
      hostname: svc.hostname,
      namespace: svc.namespace,
      ports: svc.ports.map((p) => virtualServicePortConfig(svc, p, vs, base, clusters)).sort((a, b) => a.port - b.port),
    };
  });
  // Every cluster gets its host's DestinationRule: the service's own, HTTPRoute backends, subsets.
  const withRules = [...clusters.values()].map((c) => withDestinationRule(c, destinationRules.forHost(c.hostname, c.namespace), istio.problems));
  return {
    version: WAYPOINT_CONFIG_VERSION,
    waypoint: { namespace: info.namespace, name: info.name },
    services,
    clusters: withRules.sort(byString((c) => c.name)),
  };
}

function portConfig(
  svc: ServedService,
  p: ServedService['ports'][number],
  byKind: Map<RouteKind, KubeObject<RouteKind>[]> | undefined,
  options: TranslateOptions,
  problems: Problems,
  compile: (r: KubeObject<RouteKind>) => Compiled,
  clusters: Map<string, Cluster>,
  findings: RouteFindings,
): ServicePortConfig {
  const own = servedCluster(svc, p.port, options)!;
  clusters.set(own.name, own);
  const detected = detectPortProtocol(p);
  let protocol: PortProtocol = detected.protocol;
  let routes: Route[] = [];
  let tcpBackends: ServicePortConfig['tcpBackends'];
  const where = `${svc.namespace}/${svc.name} port ${p.port}`;
  const key = portKey(svc.hostname, p.port);
  const names = (list: readonly KubeObject[]): string => list.map((r) => `${r.metadata.namespace}/${r.metadata.name}`).join(', ');
  let winner: { kind: RouteKind; routes: readonly KubeObject[] } | undefined;
  for (const kind of KIND_ORDER) {
    const list = byKind?.get(kind) ?? [];
    if (list.length === 0) continue;
    if (kind !== 'TCPRoute' && detected.declared && !isHttpProtocol(detected.protocol)) {
      for (const r of list) {
        problems.warning(refOf(r), 'spec.parentRefs', `Service ${where} is not an HTTP port (protocol ${detected.protocol}); ${kind} ignored there`);
        findings.outcome(r, key, { applied: false, reason: 'NotAllowedByListeners', message: `Service ${where} is not an HTTP port (protocol ${detected.protocol}): ${kind}s do not apply there` });
      }
      continue;
    }
    if (winner !== undefined) {
      for (const r of list) {
        problems.error(refOf(r), 'spec.parentRefs', `Conflicted: ${winner.kind} takes precedence over ${kind} on Service ${where}; not applied there`);
        findings.outcome(r, key, { applied: false, reason: 'Conflicted', message: `${winner.kind} ${names(winner.routes)} takes precedence over ${kind} on Service ${where} (GEP-1294: GRPCRoute > HTTPRoute > TCPRoute)` });
      }
      continue;
    }
    winner = { kind, routes: list };
    if (kind === 'TCPRoute') {
      // The oldest TCPRoute wins the port (then namespace/name): a connection has nothing to match on.
      const [first, ...rest] = [...list].sort(byString((r) => `${r.metadata.creationTimestamp ?? ''}\u0000${r.metadata.namespace}/${r.metadata.name}`));
      winner = { kind, routes: [first!] };
      findings.outcome(first!, key, APPLIED);
      for (const r of rest) {
        problems.error(refOf(r), 'spec.parentRefs', `Conflicted: TCPRoute ${first!.metadata.namespace}/${first!.metadata.name} already takes Service ${where}`);
        findings.outcome(r, key, { applied: false, reason: 'Conflicted', message: `TCPRoute ${names([first!])} already takes Service ${where} (the oldest TCPRoute on a port wins)` });
      }
      const c = compile(first!);
      if (c.kind === 'TCPRoute') {
        for (const cl of c.value.clusters) clusters.set(cl.name, cl);
        tcpBackends = c.value.backends;
      }
      protocol = 'tcp';
    } else {
      const entries = [];
      for (const r of list) {
        findings.outcome(r, key, APPLIED);
        const c = compile(r);
        if (c.kind === 'TCPRoute') continue;
        entries.push(...c.value.entries);
        for (const cl of c.value.clusters) clusters.set(cl.name, cl);
      }
      routes = sortByPrecedence(entries).map((e) => e.route);
      // Istio would sniff an undeclared port; an attached HTTP-family route declares it here.
      if (!detected.declared) protocol = kind === 'GRPCRoute' ? 'grpc' : 'http';
    }
  }
  return {
    port: p.port,
    name: p.name,
    protocol,
    routes,
    defaultCluster: own.name,
    ...(tcpBackends !== undefined ? { tcpBackends } : {}),
  };
}

/** Gateway API routes attached to a Service a VirtualService owns: each reported once, not applied. */
function reportConflicts(
  svc: ServedService,
  vs: KubeObject<'VirtualService'>,
  attached: Map<string, Map<RouteKind, KubeObject<RouteKind>[]>>,
  problems: Problems,
  findings: RouteFindings,
): void {
  const seen = new Set<KubeObject>();
  const message = `VirtualService ${vs.metadata.namespace}/${vs.metadata.name} owns Service ${svc.namespace}/${svc.name} (mixing VirtualService and Gateway API routes on one host is unsupported)`;
  for (const p of svc.ports) {
    const key = portKey(svc.hostname, p.port);
    for (const list of attached.get(key)?.values() ?? []) {
      for (const r of list) {
        findings.outcome(r, key, { applied: false, reason: 'Conflicted', message });
        if (seen.has(r)) continue;
        seen.add(r);
        problems.error(
          refOf(r),
          'spec.parentRefs',
          `Conflicted: VirtualService ${vs.metadata.namespace}/${vs.metadata.name} owns Service ${svc.namespace}/${svc.name} at this waypoint (mixing VirtualService and Gateway API routes on one host is unsupported); not applied there`,
        );
      }
    }
  }
}
