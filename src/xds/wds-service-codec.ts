// istio.workload.Service ⇄ the model's Service, with ztunnel's validation (upstream: ztunnel
// src/state/service.rs, `TryFrom<&XdsService>`): VIPs vs CIDR VIPs, waypoints, load balancing.

import type { CidrAddress, LoadBalancing, LoadBalancingMode, NetworkAddress, RoutingPreference, Service, WeightedWaypoint } from '../state/index.js';
import { ipFamily } from '../state/index.js';
import {
  bytesToIp,
  decodeGateway,
  decodePorts,
  encodeGateway,
  encodePorts,
  enumNumber,
  enumOf,
  invalid,
  ipToBytes,
  type WireGateway,
} from './wds-wire.js';

/** LoadBalancing.Scope: UNSPECIFIED_SCOPE=0 is refused, as ztunnel refuses it ("invalid target"). */
const SCOPES: readonly (RoutingPreference | undefined)[] = [undefined, 'Region', 'Zone', 'Subzone', 'Node', 'Cluster', 'Network'];
/** LoadBalancing.Mode: UNSPECIFIED_MODE=0 is the standard random pick. */
const MODES: readonly LoadBalancingMode[] = ['Standard', 'Strict', 'Failover', 'Passthrough'];
const HEALTH_POLICIES: readonly LoadBalancing['healthPolicy'][] = ['OnlyHealthy', 'AllowAll'];
const IP_FAMILIES: readonly Service['ipFamilies'][] = ['Automatic', 'IPv4', 'IPv6', 'Dual'];
const VISIBILITIES: readonly Service['visibility'][] = ['Public', 'Namespace'];

interface WireNetworkAddress {
  readonly network: string;
  readonly address: Uint8Array;
  /** proto3 `optional`: absent when not on the wire (protobufjs leaves it null). */
  readonly length?: number | null;
}

/** istio.workload.Service as protobufjs decodes it. */
export interface WireService {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  readonly addresses: readonly WireNetworkAddress[];
  readonly ports: readonly { servicePort: number; targetPort: number }[];
  readonly subjectAltNames: readonly string[];
  readonly waypoint: WireGateway | null;
  readonly loadBalancing: { readonly routingPreference: readonly number[]; readonly mode: number; readonly healthPolicy: number } | null;
  readonly ipFamilies: number;
  readonly canonical: boolean;
  readonly weightedWaypoints: readonly { readonly destination: WireGateway | null; readonly weight: number }[];
  readonly visibility: number;
}

/** The Service, validated; throws MeshError XDS_INVALID with the reason. */
export function decodeService(s: WireService): Service {
  // The name is the resource key `namespace/hostname`: a '/' in the hostname would make it ambiguous.
  if (s.hostname.includes('/')) throw invalid(`hostname "${s.hostname}" must not contain "/"`);
  const vips: NetworkAddress[] = [];
  const cidrVips: CidrAddress[] = [];
  s.addresses.forEach((a, i) => {
    const ip = bytesToIp(a.address, `addresses[${i}]`);
    const full = ipFamily(ip) === 4 ? 32 : 128;
    // An absent length, or the full length, is a host VIP; anything shorter is a CIDR VIP.
    if (a.length === undefined || a.length === null || a.length === full) vips.push({ network: a.network, ip });
    else if (a.length > full) throw invalid(`addresses[${i}]: invalid cidr: prefix length ${a.length} exceeds ${full}`);
    else cidrVips.push({ network: a.network, ip, prefixLength: a.length });
  });
  const weightedWaypoints: WeightedWaypoint[] = s.weightedWaypoints.map((ww, i) => {
    const what = `weighted_waypoints[${i}]`;
    if (!ww.destination) throw invalid(`${what}: missing destination`);
    return { destination: decodeGateway(ww.destination, `${what}.destination`), weight: ww.weight };
  });
  return {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    vips,
    cidrVips,
    ports: decodePorts(s.ports, 'ports'),
    subjectAltNames: [...s.subjectAltNames],
    waypoint: s.waypoint ? decodeGateway(s.waypoint, 'waypoint') : undefined,
    weightedWaypoints,
    loadBalancer: s.loadBalancing ? decodeLoadBalancing(s.loadBalancing) : undefined,
    ipFamilies: enumOf(s.ipFamilies, IP_FAMILIES, 'ip_families'),
    canonical: s.canonical,
    // Unknown visibility values are PUBLIC (as ztunnel reads them), unlike the other enums.
    visibility: VISIBILITIES[s.visibility] ?? 'Public',
  };
}

function decodeLoadBalancing(lb: NonNullable<WireService['loadBalancing']>): LoadBalancing {
  const routingPreferences = lb.routingPreference.map((scope, i) => {
    const v = SCOPES[scope];
    if (v === undefined) {
      throw invalid(scope === 0 ? `load_balancing.routing_preference[${i}]: UNSPECIFIED_SCOPE is not a valid target` : `load_balancing.routing_preference[${i}]: unknown enum value ${scope}`);
    }
    return v;
  });
  return {
    routingPreferences,
    mode: enumOf(lb.mode, MODES, 'load_balancing.mode'),
    healthPolicy: enumOf(lb.healthPolicy, HEALTH_POLICIES, 'load_balancing.health_policy'),
  };
}

/** The protobufjs object of a Service message. */
export function serviceToWire(s: Service): Record<string, unknown> {
  return {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    addresses: [
      ...s.vips.map((v) => ({ network: v.network, address: ipToBytes(v.ip) })),
      ...s.cidrVips.map((v) => ({ network: v.network, address: ipToBytes(v.ip), length: v.prefixLength })),
    ],
    ports: encodePorts(s.ports),
    subjectAltNames: [...s.subjectAltNames],
    ...(s.waypoint ? { waypoint: encodeGateway(s.waypoint) } : {}),
    ...(s.loadBalancer
      ? {
          loadBalancing: {
            routingPreference: s.loadBalancer.routingPreferences.map((p) => enumNumber(p, SCOPES)),
            mode: enumNumber(s.loadBalancer.mode, MODES),
            healthPolicy: enumNumber(s.loadBalancer.healthPolicy, HEALTH_POLICIES),
          },
        }
      : {}),
    ipFamilies: enumNumber(s.ipFamilies, IP_FAMILIES),
    canonical: s.canonical,
    weightedWaypoints: s.weightedWaypoints.map((w) => ({ destination: encodeGateway(w.destination), weight: w.weight })),
    visibility: enumNumber(s.visibility, VISIBILITIES),
  };
}
