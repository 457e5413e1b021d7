// Kubernetes Services → istio.workload.Service (istiod ambient services.go constructService):
// hostname, cluster IPs as VIPs, port map, load-balancing settings and the service waypoint.

import type { KubeObject } from '../../k8s/index.js';
import { canonicalIp, type LoadBalancing, type NetworkAddress, type PortMap, type Service } from '../../state/index.js';
import { ANNOTATION, labelsOf, selectsLabels, serviceHostname, type Labels } from './labels.js';
import { servicePortMap } from './named-ports.js';
import { refOf, type Problems, type TranslateOptions } from './types.js';
import type { WaypointIndex } from './waypoints.js';

/** A translated Service, or one host of a ServiceEntry, with what workloads need to join it. */
export type ServiceInfo = KubeServiceInfo | ServiceEntryInfo;

export interface KubeServiceInfo {
  readonly source: 'Service';
  readonly object: KubeObject<'Service'>;
  readonly service: Service;
  /** spec.selector; empty for a selector-less Service (endpoints then come from EndpointSlices). */
  readonly selector: Labels;
}

/** One host of a ServiceEntry (istiod makes one workload Service per host). */
export interface ServiceEntryInfo {
  readonly source: 'ServiceEntry';
  readonly object: KubeObject<'ServiceEntry'>;
  readonly service: Service;
  /** spec.workloadSelector.labels: pods of the namespace it selects are endpoints; empty = none. */
  readonly selector: Labels;
  /** servicePort → targetPort as a selected pod serves it (targetPort, else the port number). */
  readonly podPorts: PortMap;
  /** Index of the host in spec.hosts (problems name `spec.hosts[i]`). */
  readonly hostIndex: number;
}

/** Fields newer than the kubernetes-models ServiceSpec schema. */
interface ServiceSpecExtra {
  readonly trafficDistribution?: string;
}

/**
 * Services of type ExternalName are not translated: ztunnel resolves them through DNS like any
 * external name (istiod serviceServiceBuilder). A Service whose cluster IP does not parse is left
 * out as a whole, as istiod does, and reported.
 */
export function translateService(
  svc: KubeObject<'Service'>,
  options: TranslateOptions,
  waypoints: WaypointIndex,
  problems: Problems,
): ServiceInfo | undefined {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return undefined;
  const namespace = svc.metadata.namespace ?? '';
  const vips: NetworkAddress[] = [];
  const clusterIps = spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? ''];
  for (const [i, text] of clusterIps.entries()) {
    if (text === '' || text === 'None') continue;
    const ip = canonicalIp(text);
    if (ip === undefined) {
      const field = spec.clusterIPs?.length ? `spec.clusterIPs[${i}]` : 'spec.clusterIP';
      problems.error(refOf(svc), field, `"${text}" is not an IP address; the Service is left out`);
      return undefined;
    }
    vips.push({ network: options.network, ip });
  }
  const wp = waypoints.forService(svc);
  if (wp.problem) {
    const field = wp.problem.labelOn === 'object' ? 'metadata.labels["istio.io/use-waypoint"]' : 'namespace label istio.io/use-waypoint';
    problems.warning(refOf(svc), field, wp.problem.reason);
  }
  const service: Service = {
    name: svc.metadata.name,
    namespace,
    hostname: serviceHostname(svc.metadata.name, namespace, options.domainSuffix),
    vips,
    cidrVips: [],
    ports: servicePortMap(svc),
    // istiod sends subject alt names only for ServiceEntries (spec.subjectAltNames), never for
    // a Kubernetes Service: its endpoints' own identities are what the agent verifies.
    subjectAltNames: [],
    waypoint: wp.waypoint?.address,
    weightedWaypoints: [],
    loadBalancer: loadBalancing(svc),
    ipFamilies: ipFamilies(spec.ipFamilies ?? []),
    // A Kubernetes Service is always canonical for its hostname (istiod constructService).
    canonical: true,
    visibility: 'Public',
  };
  return { source: 'Service', object: svc, service, selector: spec.selector ?? {} };
}

/**
 * istiod constructService's load balancing, in order:
 * 1. internalTrafficPolicy Local ⇒ STRICT to the client's node;
 * 2. else traffic distribution — spec.trafficDistribution if set to a known value, else the
 *    annotation networking.istio.io/traffic-distribution (case-insensitive; istio model
 *    GetTrafficDistribution): PreferClose / PreferSameZone ⇒ FAILOVER over network, region,
 *    zone; PreferSameNode ⇒ FAILOVER over network, region, zone, subzone, node;
 * 3. publishNotReadyAddresses ⇒ health policy ALLOW_ALL (on the result of 1–2, or on a plain
 *    standard-mode setting).
 * Nothing set ⇒ undefined: the agent's default (standard random, only healthy endpoints).
 */
export function loadBalancing(svc: KubeObject<'Service'>): LoadBalancing | undefined {
  const spec = svc.spec ?? {};
  let lb: LoadBalancing | undefined;
  if (spec.internalTrafficPolicy === 'Local') {
    lb = { routingPreferences: ['Node'], mode: 'Strict', healthPolicy: 'OnlyHealthy' };
  } else {
    const td = trafficDistribution((spec as ServiceSpecExtra).trafficDistribution, svc.metadata.annotations?.[ANNOTATION.trafficDistribution]);
    if (td === 'zone') lb = { routingPreferences: ['Network', 'Region', 'Zone'], mode: 'Failover', healthPolicy: 'OnlyHealthy' };
    if (td === 'node') {
      lb = { routingPreferences: ['Network', 'Region', 'Zone', 'Subzone', 'Node'], mode: 'Failover', healthPolicy: 'OnlyHealthy' };
    }
  }
  if (spec.publishNotReadyAddresses === true) {
    lb = { ...(lb ?? { routingPreferences: [], mode: 'Standard' }), healthPolicy: 'AllowAll' };
  }
  return lb;
}

export function trafficDistribution(specValue: string | undefined, annotation: string | undefined): 'zone' | 'node' | undefined {
  if (specValue === 'PreferClose' || specValue === 'PreferSameZone') return 'zone';
  if (specValue === 'PreferSameNode') return 'node';
  const a = annotation?.toLowerCase();
  if (a === 'preferclose' || a === 'prefersamezone') return 'zone';
  if (a === 'prefersamenode') return 'node';
  return undefined;
}

function ipFamilies(families: readonly string[]): Service['ipFamilies'] {
  if (families.length === 2) return 'Dual';
  if (families.length === 1) return families[0] === 'IPv4' ? 'IPv4' : 'IPv6';
  return 'Automatic';
}

/** Services in the pod's namespace whose non-empty selector the pod's labels satisfy. */
export function selectingServices(pod: KubeObject<'Pod'>, services: readonly ServiceInfo[]): ServiceInfo[] {
  const labels = labelsOf(pod);
  return services.filter(
    (s) =>
      s.service.namespace === pod.metadata.namespace &&
      Object.keys(s.selector).length > 0 &&
      Object.entries(s.selector).every(([k, v]) => labels[k] === v),
  );
}

/**
 * The Services that select a pod, found without scanning them all: each Service with a non-empty
 * selector is filed under its namespace and one of its selector's label pairs; a pod looks up each
 * of its own labels, and only those candidates are checked in full. Same result and order as
 * selectingServices (the order of `services`).
 */
export class ServiceSelectorIndex {
  /** `namespace \0 key \0 value` → Services filed there, with their position in `services`. */
  readonly #buckets = new Map<string, Array<{ readonly at: number; readonly info: ServiceInfo }>>();

  constructor(services: readonly ServiceInfo[]) {
    services.forEach((info, at) => {
      const first = Object.entries(info.selector)[0];
      if (first === undefined) return;
      const key = bucketKey(info.service.namespace, first[0], first[1]);
      let bucket = this.#buckets.get(key);
      if (bucket === undefined) this.#buckets.set(key, (bucket = []));
      bucket.push({ at, info });
    });
  }

  selecting(pod: KubeObject<'Pod'>): ServiceInfo[] {
    const labels = labelsOf(pod);
    const ns = pod.metadata.namespace ?? '';
    const found: Array<{ readonly at: number; readonly info: ServiceInfo }> = [];
    for (const [k, v] of Object.entries(labels)) {
      const bucket = this.#buckets.get(bucketKey(ns, k, v));
      if (bucket === undefined) continue;
      for (const c of bucket) if (selectsLabels(c.info.selector, labels)) found.push(c);
    }
    // A Service is filed once and a pod has one value per label key: no duplicates, only order to restore.
    if (found.length > 1) found.sort((a, b) => a.at - b.at);
    return found.map((c) => c.info);
  }
}

const bucketKey = (namespace: string, key: string, value: string): string => `${namespace}\u0000${key}\u0000${value}`;
