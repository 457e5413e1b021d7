// istio.workload.Workload ⇄ the model's Workload, with ztunnel's validation and defaults
// (upstream: ztunnel src/state/workload.rs, `TryFrom<XdsWorkload>`), plus Ambit's netns extension.

import { isAbsolute } from 'node:path';
import type { ApplicationTunnel, Locality, NetworkMode, OutboundTrafficPolicy, PortMap, TunnelProtocol, Workload, WorkloadStatus, WorkloadType } from '../state/index.js';
import { protoType } from './proto-root.js';
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
  portOf,
  type WireGateway,
} from './wds-wire.js';

/** Name of the Workload.extensions entry carrying Ambit's Workload.netns (ztunnel ignores extensions). */
export const NETNS_EXTENSION = 'ambit.dev/netns';
/** Its config is a google.protobuf.StringValue holding the path. */
export const STRING_VALUE_TYPE_URL = 'type.googleapis.com/google.protobuf.StringValue';
/**
 * Name of the Workload.extensions entry carrying Ambit's Workload.outboundTrafficPolicy (a
 * StringValue `ALLOW_ANY` or `REGISTRY_ONLY`, Istio's mode names). The workload API has no field
 * for it; ztunnel ignores extensions, so istiod-fed agents keep ALLOW_ANY.
 */
export const OUTBOUND_POLICY_EXTENSION = 'ambit.dev/outbound-traffic-policy';
const OUTBOUND_POLICIES: readonly OutboundTrafficPolicy[] = ['ALLOW_ANY', 'REGISTRY_ONLY'];

/** Defaults ztunnel applies to empty fields. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
export const DEFAULT_CAPACITY = 1;

const WORKLOAD_TYPES: readonly WorkloadType[] = ['deployment', 'cronjob', 'pod', 'job'];
const STATUSES: readonly WorkloadStatus[] = ['Healthy', 'Unhealthy'];
const NETWORK_MODES: readonly NetworkMode[] = ['Standard', 'HostNetwork'];
const APP_TUNNEL_PROTOCOLS: readonly ApplicationTunnel['protocol'][] = ['NONE', 'PROXY'];
/** TunnelProtocol: NONE=0 (plain TCP), HBONE=1; LEGACY_ISTIO_MTLS=2 is refused below. */
const TUNNEL_PROTOCOLS: readonly TunnelProtocol[] = ['TCP', 'HBONE'];
const LEGACY_ISTIO_MTLS = 2;

/** istio.workload.Workload as protobufjs decodes it (unset scalars read their proto3 default). */
export interface WireWorkload {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly addresses: readonly Uint8Array[];
  readonly hostname: string;
  readonly network: string;
  readonly tunnelProtocol: number;
  readonly trustDomain: string;
  readonly serviceAccount: string;
  readonly waypoint: WireGateway | null;
  readonly networkGateway: WireGateway | null;
  readonly node: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadType: number;
  readonly workloadName: string;
  readonly nativeTunnel: boolean;
  readonly applicationTunnel: { readonly protocol: number; readonly port: number } | null;
  /** A map entry without a value decodes as null (protobufjs): an empty port list. */
  readonly services: Readonly<Record<string, { readonly ports: readonly { servicePort: number; targetPort: number }[] } | null>>;
  readonly authorizationPolicies: readonly string[];
  readonly status: number;
  readonly clusterId: string;
  readonly locality: { readonly region: string; readonly zone: string; readonly subzone: string } | null;
  readonly networkMode: number;
  /** google.protobuf.Any keeps its snake_case field name in protobufjs's bundled definition. */
  readonly extensions: readonly { readonly name: string; readonly config: { readonly type_url: string; readonly value: Uint8Array } | null }[];
  readonly capacity: { readonly value: number } | null;
}

/** The Workload, validated; throws MeshError XDS_INVALID with the reason. */
export function decodeWorkload(w: WireWorkload): Workload {
  if (w.tunnelProtocol === LEGACY_ISTIO_MTLS) throw invalid('unsupported tunnel_protocol LEGACY_ISTIO_MTLS');
  const ips: string[] = [];
  w.addresses.forEach((bytes, i) => {
    const ip = bytesToIp(bytes, `addresses[${i}]`);
    if (!ips.includes(ip)) ips.push(ip);
  });
  const services = new Map<string, PortMap>();
  for (const [key, list] of Object.entries(w.services)) {
    // ztunnel splits the key on the first '/': no '/' at all is a refusal.
    if (!key.includes('/')) throw invalid(`failed to parse namespaced hostname: ${key}`);
    services.set(key, decodePorts(list?.ports ?? [], `services["${key}"]`));
  }
  const appTunnel = w.applicationTunnel
    ? {
        protocol: enumOf(w.applicationTunnel.protocol, APP_TUNNEL_PROTOCOLS, 'application_tunnel.protocol'),
        port: portOf(w.applicationTunnel.port, 'application_tunnel.port'),
      }
    : undefined;
  const locality: Locality = w.locality
    ? { region: w.locality.region, zone: w.locality.zone, subzone: w.locality.subzone }
    : { region: '', zone: '', subzone: '' };
  return {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    workloadIps: ips,
    hostname: w.hostname,
    network: w.network,
    protocol: enumOf(w.tunnelProtocol, TUNNEL_PROTOCOLS, 'tunnel_protocol'),
    trustDomain: w.trustDomain || DEFAULT_TRUST_DOMAIN,
    serviceAccount: w.serviceAccount || DEFAULT_SERVICE_ACCOUNT,
    waypoint: w.waypoint ? decodeGateway(w.waypoint, 'waypoint') : undefined,
    networkGateway: w.networkGateway ? decodeGateway(w.networkGateway, 'network_gateway') : undefined,
    node: w.node,
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    // ztunnel reads workload_type through prost's lenient getter: an unknown value is DEPLOYMENT.
    workloadType: WORKLOAD_TYPES[w.workloadType] ?? 'deployment',
    workloadName: w.workloadName,
    nativeTunnel: w.nativeTunnel,
    applicationTunnel: appTunnel,
    services,
    authorizationPolicies: [...w.authorizationPolicies],
    status: enumOf(w.status, STATUSES, 'status'),
    clusterId: w.clusterId || DEFAULT_CLUSTER_ID,
    locality,
    networkMode: enumOf(w.networkMode, NETWORK_MODES, 'network_mode'),
    // UInt32Value: absent = 1 (ztunnel), present = its value, 0 included.
    capacity: w.capacity ? w.capacity.value : DEFAULT_CAPACITY,
    netns: decodeNetns(w.extensions),
    ...outboundPolicyField(w.extensions),
  };
}

/** The value of a StringValue extension, checked to be one; MeshError XDS_INVALID otherwise. */
function stringExtension(ext: WireWorkload['extensions'][number]): string {
  const what = `extension ${ext.name}`;
  if (!ext.config || ext.config.type_url !== STRING_VALUE_TYPE_URL) {
    throw invalid(`${what}: config must be a ${STRING_VALUE_TYPE_URL}, got ${ext.config ? JSON.stringify(ext.config.type_url) : 'none'}`);
  }
  try {
    return (protoType('google.protobuf.StringValue').decode(ext.config.value) as unknown as { value: string }).value;
  } catch (err) {
    throw invalid(`${what}: decode: ${(err as Error).message}`);
  }
}

/**
 * Ambit's outbound traffic policy extension: absent ⇒ no field (ALLOW_ANY); an unknown mode is
 * refused (NACK) rather than guessed, so a newer control plane's mode is never read as ALLOW_ANY.
 */
function outboundPolicyField(extensions: WireWorkload['extensions']): { outboundTrafficPolicy?: OutboundTrafficPolicy } {
  let policy: OutboundTrafficPolicy | undefined;
  for (const ext of extensions) {
    if (ext.name !== OUTBOUND_POLICY_EXTENSION) continue;
    const v = stringExtension(ext);
    if (!(OUTBOUND_POLICIES as readonly string[]).includes(v)) {
      throw invalid(`extension ${OUTBOUND_POLICY_EXTENSION}: unknown outbound traffic policy ${JSON.stringify(v)} (expected ${OUTBOUND_POLICIES.join(' or ')})`);
    }
    policy = v as OutboundTrafficPolicy;
  }
  return policy === undefined ? {} : { outboundTrafficPolicy: policy };
}

/** Ambit's netns extension (an absolute path); other extensions are ignored, as ztunnel ignores all. */
function decodeNetns(extensions: WireWorkload['extensions']): string | undefined {
  let netns: string | undefined;
  for (const ext of extensions) {
    if (ext.name !== NETNS_EXTENSION) continue;
    const path = stringExtension(ext);
    if (!isAbsolute(path)) throw invalid(`extension ${NETNS_EXTENSION}: the netns must be an absolute path, got ${JSON.stringify(path)}`);
    netns = path;
  }
  return netns;
}

/** The protobufjs object of a Workload message. */
export function workloadToWire(w: Workload): Record<string, unknown> {
  const stringValue = (name: string, value: string) => ({
    name,
    config: { type_url: STRING_VALUE_TYPE_URL, value: protoType('google.protobuf.StringValue').encode({ value }).finish() },
  });
  const extensions = [
    ...(w.netns === undefined ? [] : [stringValue(NETNS_EXTENSION, w.netns)]),
    ...(w.outboundTrafficPolicy === undefined ? [] : [stringValue(OUTBOUND_POLICY_EXTENSION, w.outboundTrafficPolicy)]),
  ];
  const { region, zone, subzone } = w.locality;
  return {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    addresses: w.workloadIps.map(ipToBytes),
    hostname: w.hostname,
    network: w.network,
    tunnelProtocol: enumNumber(w.protocol, TUNNEL_PROTOCOLS),
    trustDomain: w.trustDomain,
    serviceAccount: w.serviceAccount,
    ...(w.waypoint ? { waypoint: encodeGateway(w.waypoint) } : {}),
    ...(w.networkGateway ? { networkGateway: encodeGateway(w.networkGateway) } : {}),
    node: w.node,
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    workloadType: enumNumber(w.workloadType, WORKLOAD_TYPES),
    workloadName: w.workloadName,
    nativeTunnel: w.nativeTunnel,
    ...(w.applicationTunnel
      ? { applicationTunnel: { protocol: enumNumber(w.applicationTunnel.protocol, APP_TUNNEL_PROTOCOLS), port: w.applicationTunnel.port } }
      : {}),
    services: Object.fromEntries([...w.services].map(([key, ports]) => [key, { ports: encodePorts(ports) }])),
    authorizationPolicies: [...w.authorizationPolicies],
    status: enumNumber(w.status, STATUSES),
    clusterId: w.clusterId,
    ...(region !== '' || zone !== '' || subzone !== '' ? { locality: { region, zone, subzone } } : {}),
    networkMode: enumNumber(w.networkMode, NETWORK_MODES),
    extensions,
    // Always explicit, so capacity 0 survives (an absent wrapper means 1).
    capacity: { value: w.capacity },
  };
}
