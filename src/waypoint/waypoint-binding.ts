// Whether a workload's `waypoint` (istio.workload.Workload.waypoint, a GatewayAddress) names this
// waypoint: the rule for pod-addressed traffic, which a waypoint serves only for its own workloads.

import type { GatewayAddress, ProxyState, Workload } from '../state/index.js';

/** This waypoint: its Gateway (the waypoint's Service has the Gateway's name, as istiod makes it). */
export interface WaypointSelf {
  readonly namespace: string;
  readonly name: string;
}

/**
 * ztunnel sends pod-addressed traffic to a waypoint only when the *workload* has one
 * (proxy/outbound.rs: the workload's waypoint, not its services'); istiod gives that waypoint's
 * filter chains only to the workloads bound to it. The address is the waypoint Service's VIP (or
 * one of its pods' IPs) or its hostname (istiod getGatewayAddress), resolved through the state.
 */
export function usesWaypoint(state: ProxyState, wl: Workload, self: WaypointSelf): boolean {
  const gw: GatewayAddress | undefined = wl.waypoint;
  if (!gw) return false;
  const isSelf = (s: { namespace: string; name: string } | undefined): boolean => s !== undefined && s.namespace === self.namespace && s.name === self.name;
  const d = gw.destination;
  if (d.kind === 'hostname') {
    const svc = state.serviceByHostname(d.hostname, d.namespace);
    if (svc) return isSelf(svc);
    // Not (yet) in the state: istiod's waypoint hostname is <name>.<namespace>.svc.<domain>.
    return d.namespace === self.namespace && d.hostname.startsWith(`${self.name}.${self.namespace}.svc.`);
  }
  const svc = state.serviceByVip(d.network, d.ip);
  if (svc) return isSelf(svc);
  const pod = state.workloadByIp(d.network, d.ip);
  return pod !== undefined && state.servicesOf(pod).some(isSelf);
}
