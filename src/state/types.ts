// The internal model of mesh state, after Istio's workload discovery API (istio.workload.Address,
// istio.security.Authorization). Every config source (local YAML, xDS) converts into these types.

/** Tunnel protocol a workload accepts (istio.workload.TunnelProtocol; LEGACY_ISTIO_MTLS is refused). */
export type TunnelProtocol = 'TCP' | 'HBONE';
export type WorkloadType = 'deployment' | 'cronjob' | 'pod' | 'job';
export type WorkloadStatus = 'Healthy' | 'Unhealthy';
export type NetworkMode = 'Standard' | 'HostNetwork';

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

/** A GatewayAddress: where a waypoint or network gateway is reached. */
export interface GatewayAddress {
  readonly destination:
    | { readonly kind: 'address'; readonly network: string; readonly ip: string }
    | { readonly kind: 'hostname'; readonly namespace: string; readonly hostname: string };
  readonly hboneMtlsPort: number;
}

export interface ApplicationTunnel {
  readonly protocol: 'NONE' | 'PROXY';
  /** 0 = unset. */
  readonly port: number;
}

/** servicePort → targetPort. */
export type PortMap = ReadonlyMap<number, number>;

export interface Workload {
  /** Primary key, e.g. `cluster1//v1/Pod/default/sleep-abc`. */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** Canonical string form of IPv4/IPv6 addresses. */
  readonly workloadIps: readonly string[];
  readonly hostname: string;
  readonly network: string;
  readonly protocol: TunnelProtocol;
  readonly trustDomain: string;
  readonly serviceAccount: string;
  readonly waypoint: GatewayAddress | undefined;
  readonly networkGateway: GatewayAddress | undefined;
  readonly node: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadType: WorkloadType;
  readonly workloadName: string;
  readonly nativeTunnel: boolean;
  readonly applicationTunnel: ApplicationTunnel | undefined;
  /** Key `namespace/hostname` → this endpoint's port map. */
  readonly services: ReadonlyMap<string, PortMap>;
  /** Selector-scoped policy keys `ns/name`. */
  readonly authorizationPolicies: readonly string[];
  readonly status: WorkloadStatus;
  readonly clusterId: string;
  readonly locality: Locality;
  readonly networkMode: NetworkMode;
  /** LB weight, default 1. */
  readonly capacity: number;
  /**
   * Ambit extension (not in Istio's API): the network namespace of this pod, as a path
   * (/var/run/netns/NAME or /proc/PID/ns/net). Only meaningful for workloads of this node.
   */
  readonly netns: string | undefined;
  /**
   * Ambit extension (not in Istio's API): how this workload's agent treats outbound connections to
   * destinations the mesh does not know (Istio meshConfig.outboundTrafficPolicy.mode). Absent =
   * ALLOW_ANY (plain passthrough, as ztunnel). Set by `ambit control` on pod workloads only.
   */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

/** Istio's OutboundTrafficPolicy.Mode values. */
export type OutboundTrafficPolicy = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface NetworkAddress {
  readonly network: string;
  readonly ip: string;
}

export interface CidrAddress extends NetworkAddress {
  readonly prefixLength: number;
}

export type LoadBalancingMode = 'Standard' | 'Strict' | 'Failover' | 'Passthrough';
export type RoutingPreference = 'Region' | 'Zone' | 'Subzone' | 'Node' | 'Cluster' | 'Network';

export interface LoadBalancing {
  readonly routingPreferences: readonly RoutingPreference[];
  readonly mode: LoadBalancingMode;
  readonly healthPolicy: 'OnlyHealthy' | 'AllowAll';
}

export interface WeightedWaypoint {
  readonly destination: GatewayAddress;
  readonly weight: number;
}

export interface Service {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  readonly vips: readonly NetworkAddress[];
  readonly cidrVips: readonly CidrAddress[];
  /** servicePort → targetPort (0 = named port, resolved per endpoint). */
  readonly ports: PortMap;
  readonly subjectAltNames: readonly string[];
  readonly waypoint: GatewayAddress | undefined;
  readonly weightedWaypoints: readonly WeightedWaypoint[];
  readonly loadBalancer: LoadBalancing | undefined;
  readonly ipFamilies: 'Automatic' | 'IPv4' | 'IPv6' | 'Dual';
  readonly canonical: boolean;
  readonly visibility: 'Public' | 'Namespace';
}

/** A service endpoint, derived from Workload.services (never configured directly). */
export interface Endpoint {
  readonly workloadUid: string;
  readonly port: PortMap;
  readonly status: WorkloadStatus;
}

// ---- Authorization (istio.security.Authorization) ----

export type StringMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }
  | { readonly kind: 'presence' };

export interface Cidr {
  /** Canonical IP string. */
  readonly ip: string;
  readonly prefixLength: number;
}

export interface ServiceAccountMatch {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** One Match: every non-empty field group must pass (AND). */
export interface RbacMatch {
  readonly namespaces: readonly StringMatch[];
  readonly notNamespaces: readonly StringMatch[];
  readonly principals: readonly StringMatch[];
  readonly notPrincipals: readonly StringMatch[];
  readonly serviceAccounts: readonly ServiceAccountMatch[];
  readonly notServiceAccounts: readonly ServiceAccountMatch[];
  readonly sourceIps: readonly Cidr[];
  readonly notSourceIps: readonly Cidr[];
  readonly destinationIps: readonly Cidr[];
  readonly notDestinationIps: readonly Cidr[];
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
}

/** rules OR; a rule's clauses AND; a clause's matches OR. */
export type RbacClause = readonly RbacMatch[];
export type RbacRule = readonly RbacClause[];

export type PolicyScope = 'Global' | 'Namespace' | 'WorkloadSelector';
export type PolicyAction = 'Allow' | 'Deny';

export interface Authorization {
  readonly name: string;
  readonly namespace: string;
  readonly scope: PolicyScope;
  readonly action: PolicyAction;
  readonly dryRun: boolean;
  readonly rules: readonly RbacRule[];
}

/** A complete, validated configuration snapshot as produced by one config source. */
export interface StateSnapshot {
  readonly workloads: readonly Workload[];
  readonly services: readonly Service[];
  readonly policies: readonly Authorization[];
}

/**
 * Where a config source delivers whole snapshots: ProxyState itself, or a merger that combines
 * several sources (local config + xDS) before handing one snapshot to ProxyState.
 */
export interface SnapshotSink {
  apply(snapshot: StateSnapshot): void;
}

/**
 * Key helpers that define the canonical resource names (ztunnel src/xds.rs; istiod
 * WorkloadAuthorization.ResourceName).
 */
export function serviceKey(namespace: string, hostname: string): string {
  return `${namespace}/${hostname}`;
}

export function policyKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function networkAddressKey(network: string, ip: string): string {
  return `${network}/${ip}`;
}
