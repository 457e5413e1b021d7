// The outbound routing decision of ztunnel src/proxy/outbound.rs as a pure function of mesh state:
// where a captured (or SOCKS5) connection from a local workload to `dst` goes, by which protocol,
// expecting whom.

import { isIP } from 'node:net';
import { MeshError } from '../common/errors.js';
import type { GatewayAddress, Service, Workload } from '../state/index.js';
import { selfCallError, type OwnListener } from './own-listeners.js';
import { workloadSpiffeId } from './workload-memo.js';

export interface SocketAddr {
  readonly ip: string;
  readonly port: number;
}

/** The part of ProxyState the routing decision reads (narrowest view, for tests and safety). */
export interface RouteState {
  workloadByIp(network: string, ip: string): Workload | undefined;
  serviceByVip(network: string, ip: string, clientNamespace?: string): Service | undefined;
  serviceByHostname(hostname: string, preferNamespace?: string): Service | undefined;
  pickEndpoint(service: Service, servicePort: number, source?: Workload): { workload: Workload; port: number } | undefined;
}

export type Route =
  | {
      readonly kind: 'hbone';
      readonly nextHop: SocketAddr;
      readonly authority: string;
      readonly expectedSans: readonly string[];
      /** The workload at the next hop (the waypoint when going via one). */
      readonly destWorkload: Workload;
      readonly destService: Service | undefined;
      readonly viaWaypoint: boolean;
    }
  | { readonly kind: 'tcp'; readonly target: SocketAddr; readonly destWorkload: Workload; readonly destService: Service | undefined }
  /**
   * Plain TCP to an endpoint known only by hostname (a ServiceEntry with resolution DNS): the
   * caller resolves it when it connects (ztunnel resolves such workloads with the system resolver).
   */
  | { readonly kind: 'dns'; readonly hostname: string; readonly port: number; readonly destWorkload: Workload; readonly destService: Service | undefined }
  /** To the address dialled; `destService` when it is a service VIP in Passthrough mode (telemetry). */
  | { readonly kind: 'passthrough'; readonly target: SocketAddr; readonly destService?: Service };

export interface RouteInput {
  readonly state: RouteState;
  readonly source: Workload;
  readonly dst: SocketAddr;
  /** This node's network (NETWORK). */
  readonly network: string;
  /** The HBONE port peers listen on (ztunnel dials its own inbound port number). */
  readonly hbonePort: number;
  /**
   * The agent's own listener a destination would reach (OwnListeners.at): such a destination is a
   * recursive call or a workload reaching admin/stats/readiness, refused before and after routing.
   */
  readonly ownListenerAt: (dst: SocketAddr) => OwnListener | undefined;
  readonly random?: () => number;
}

export function formatAuthority(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function workloadIdentity(w: Workload): string {
  return workloadSpiffeId(w);
}

/** Picks the IP to dial on a workload: the original one if it is the workload's, else same family. */
function selectIp(w: Workload, wanted: string): string | undefined {
  if (w.workloadIps.includes(wanted)) return wanted;
  const family = isIP(wanted);
  return w.workloadIps.find((ip) => isIP(ip) === family) ?? w.workloadIps[0];
}

function sample(list: readonly { weight: number }[], random: () => number): number {
  const total = list.reduce((s, x) => s + x.weight, 0);
  if (total <= 0) return -1;
  let r = random() * total;
  for (let i = 0; i < list.length; i++) {
    r -= list[i]!.weight;
    if (r < 0) return i;
  }
  return list.length - 1;
}

/** A service's waypoint: weighted_waypoints sampled by weight, else `waypoint`. */
function serviceWaypoint(svc: Service, random: () => number): GatewayAddress | undefined {
  const i = sample(svc.weightedWaypoints, random);
  return i >= 0 ? svc.weightedWaypoints[i]!.destination : svc.waypoint;
}

/** Resolves a GatewayAddress to the waypoint workload, the port to dial and its expected SANs. */
function resolveWaypoint(input: RouteInput, gw: GatewayAddress): { workload: Workload; ip: string; port: number; sans: string[] } {
  const { state, source } = input;
  let svc: Service | undefined;
  let direct: Workload | undefined;
  if (gw.destination.kind === 'address') {
    direct = state.workloadByIp(gw.destination.network, gw.destination.ip);
    if (!direct) svc = state.serviceByVip(gw.destination.network, gw.destination.ip, source.namespace);
  } else {
    svc = state.serviceByHostname(gw.destination.hostname, gw.destination.namespace);
  }
  if (direct) {
    const ip = gw.destination.kind === 'address' ? gw.destination.ip : direct.workloadIps[0];
    if (!ip) throw new MeshError('NO_HEALTHY_UPSTREAM', `waypoint workload ${direct.uid} has no IP`);
    return { workload: direct, ip, port: gw.hboneMtlsPort, sans: [workloadIdentity(direct)] };
  }
  if (!svc) throw new MeshError('NO_HEALTHY_UPSTREAM', `waypoint ${describeGateway(gw)} not found`);
  const ep = state.pickEndpoint(svc, gw.hboneMtlsPort, source);
  if (!ep) throw new MeshError('NO_HEALTHY_UPSTREAM', `waypoint ${svc.hostname} has no healthy endpoint`);
  const ip = ep.workload.workloadIps[0];
  if (!ip) throw new MeshError('NO_HEALTHY_UPSTREAM', `waypoint workload ${ep.workload.uid} has no IP`);
  return { workload: ep.workload, ip, port: ep.port || gw.hboneMtlsPort, sans: [...svc.subjectAltNames, workloadIdentity(ep.workload)] };
}

function describeGateway(gw: GatewayAddress): string {
  return gw.destination.kind === 'address'
    ? `${gw.destination.network}/${gw.destination.ip}`
    : `${gw.destination.namespace}/${gw.destination.hostname}`;
}

function isSourceTheWaypoint(source: Workload, sourceIp: string | undefined, wp: Workload): boolean {
  return workloadIdentity(source) === workloadIdentity(wp) && (sourceIp === undefined || wp.workloadIps.includes(sourceIp));
}

/**
 * Decides the route. Throws MeshError for a destination or plain-TCP target that is one of the
 * agent's own listeners, a service with no healthy upstream, an unreachable waypoint, or (source
 * under outboundTrafficPolicy REGISTRY_ONLY) a destination the mesh does not know, NOT_REGISTERED
 * (the caller may still admit it as a ServiceEntry host by name); never performs I/O. HBONE next hops are never checked: dialling a local workload's 15008 is the normal
 * path, and the inbound side refuses own-listener authorities.
 */
export function routeOutbound(input: RouteInput, sourceIp?: string): Route {
  const route = decide(input, sourceIp);
  if (route.kind === 'tcp') {
    const own = input.ownListenerAt(route.target);
    if (own) throw selfCallError(route.target, own);
  }
  return route;
}

function decide(input: RouteInput, sourceIp: string | undefined): Route {
  const { state, source, dst } = input;
  const random = input.random ?? Math.random;
  // As ztunnel's outbound (src/proxy/outbound.rs), before anything else: no source or route matters.
  const own = input.ownListenerAt(dst);
  if (own) throw selfCallError(dst, own);
  const svc = state.serviceByVip(input.network, dst.ip, source.namespace);
  if (svc) {
    const wp = serviceWaypoint(svc, random);
    if (wp) {
      const w = resolveWaypoint(input, wp);
      if (!isSourceTheWaypoint(source, sourceIp, w.workload)) {
        return {
          kind: 'hbone',
          nextHop: { ip: w.ip, port: w.port },
          authority: formatAuthority(dst.ip, dst.port),
          expectedSans: w.sans,
          destWorkload: w.workload,
          destService: svc,
          viaWaypoint: true,
        };
      }
    }
    if (svc.loadBalancer?.mode === 'Passthrough') {
      // ztunnel passes any port through; REGISTRY_ONLY registers only the ports the entry declares.
      if (source.outboundTrafficPolicy === 'REGISTRY_ONLY' && !svc.ports.has(dst.port)) throw notRegistered(dst);
      return { kind: 'passthrough', target: dst, destService: svc };
    }
    const ep = state.pickEndpoint(svc, dst.port, source);
    if (!ep) throw new MeshError('NO_HEALTHY_UPSTREAM', `no healthy upstream for ${svc.hostname}:${dst.port}`);
    return direct(input, ep.workload, ep.port, svc, [...svc.subjectAltNames]);
  }
  const wl = state.workloadByIp(input.network, dst.ip);
  if (!wl) {
    // Ambit's REGISTRY_ONLY (Istio meshConfig.outboundTrafficPolicy): ztunnel always passes through.
    if (source.outboundTrafficPolicy === 'REGISTRY_ONLY') throw notRegistered(dst);
    return { kind: 'passthrough', target: dst };
  }
  const w = wl.waypoint ? resolveWaypoint(input, wl.waypoint) : undefined;
  if (w && !isSourceTheWaypoint(source, sourceIp, w.workload)) {
    return {
      kind: 'hbone',
      nextHop: { ip: w.ip, port: w.port },
      authority: formatAuthority(dst.ip, dst.port),
      expectedSans: w.sans,
      destWorkload: w.workload,
      destService: undefined,
      viaWaypoint: true,
    };
  }
  return direct(input, wl, dst.port, undefined, []);
}

/**
 * The route of a connection to an address that DNS ServiceEntry host `svc` resolves to (found by
 * name, see ServiceEntryHosts): as if the client had dialled the host's VIP (of the dialled family,
 * else any) — its waypoint, or its endpoints; a host without a VIP (auto-allocation opted out, a
 * wildcard) passes through to the address dialled, reported as that service.
 */
export function routeToServiceHost(input: RouteInput, svc: Service, sourceIp?: string): Route {
  const family = isIP(input.dst.ip);
  const vips = svc.vips.filter((v) => v.network === input.network);
  const vip = vips.find((v) => isIP(v.ip) === family) ?? vips[0];
  if (vip === undefined) return { kind: 'passthrough', target: input.dst, destService: svc };
  return routeOutbound({ ...input, dst: { ip: vip.ip, port: input.dst.port } }, sourceIp);
}

/** The refusal of an unregistered destination under REGISTRY_ONLY (response flag NR). */
export function notRegistered(dst: SocketAddr): MeshError {
  return new MeshError(
    'NOT_REGISTERED',
    `${formatAuthority(dst.ip, dst.port)} is no workload, service VIP or ServiceEntry host of the mesh; refused by outboundTrafficPolicy REGISTRY_ONLY`,
  );
}

function direct(input: RouteInput, wl: Workload, port: number, svc: Service | undefined, sans: string[]): Route {
  if (wl.network !== input.network) {
    throw new MeshError('NO_HEALTHY_UPSTREAM', `workload ${wl.uid} is on network "${wl.network}"; cross-network gateways are not supported`);
  }
  if (wl.workloadIps.length === 0 && wl.hostname !== '') {
    if (wl.protocol === 'HBONE') throw new MeshError('NO_HEALTHY_UPSTREAM', `workload ${wl.uid} is known only by hostname ${wl.hostname}; HBONE to a hostname is not supported`);
    return { kind: 'dns', hostname: wl.hostname, port, destWorkload: wl, destService: svc };
  }
  const ip = selectIp(wl, input.dst.ip);
  if (!ip) throw new MeshError('NO_HEALTHY_UPSTREAM', `workload ${wl.uid} has no IP address`);
  if (wl.protocol === 'HBONE') {
    return {
      kind: 'hbone',
      nextHop: { ip, port: input.hbonePort },
      authority: formatAuthority(ip, port),
      expectedSans: [...sans, workloadIdentity(wl)],
      destWorkload: wl,
      destService: svc,
      viaWaypoint: false,
    };
  }
  return { kind: 'tcp', target: { ip, port }, destWorkload: wl, destService: svc };
}
