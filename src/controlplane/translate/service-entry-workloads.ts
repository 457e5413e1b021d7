// ServiceEntry endpoints → istio.workload.Workload (istiod ambient workloads.go
// serviceEntryWorkloadBuilder): one Workload per `endpoints[]` entry, or, for resolution DNS /
// DNS_ROUND_ROBIN without endpoints or workloadSelector, one per host whose `hostname` is the host
// itself (the agent resolves it when it connects). Pods a `workloadSelector` selects join through
// their own Workload instead (workloads.ts).

import type { KubeObject } from '../../k8s/index.js';
import { canonicalIp, serviceKey, type Locality, type PortMap, type Workload } from '../../state/index.js';
import { selectedPolicyKeys, type TranslatedPolicy } from './authorization.js';
import { ANNOTATION, LABEL, annotationsOf, labelsOf } from './labels.js';
import { peerAuthenticationKeys } from './peer-authentication.js';
import { resolutionOf, type ServiceEntryEndpoint, type ServiceEntryObject } from './service-entry-check.js';
import type { ServiceEntryInfo } from './services.js';
import { refOf, type Problems, type TranslateOptions } from './types.js';
import type { WaypointIndex } from './waypoints.js';
import { canonicalService } from './workload-meta.js';

export interface ServiceEntryWorkloadContext {
  readonly options: TranslateOptions;
  readonly policies: readonly TranslatedPolicy[];
  readonly peerAuthentications: readonly KubeObject<'PeerAuthentication'>[];
  readonly waypoints: WaypointIndex;
  readonly problems: Problems;
}

/** istiod generateServiceEntryUID: `<cluster>/networking.istio.io/ServiceEntry/<ns>/<name>/<address>`. */
export function serviceEntryUid(clusterId: string, namespace: string, name: string, address: string): string {
  return `${clusterId}/networking.istio.io/ServiceEntry/${namespace}/${name}/${address}`;
}

/**
 * The endpoint's port map for one host (istiod constructServicesFromWorkloadEntry, ServiceEntry
 * case): the endpoint's `ports[<port name>]` if set, else the port's targetPort, else its number.
 */
function endpointPorts(se: ServiceEntryObject, ep: ServiceEntryEndpoint): PortMap {
  const out = new Map<number, number>();
  for (const p of se.spec?.ports ?? []) {
    const n = p.number ?? 0;
    out.set(n, ep.ports?.[p.name ?? ''] ?? (p.targetPort || n));
  }
  return out;
}

/** `region/zone/subzone` (istio SplitLocalityLabel; `/` separated, missing parts empty). */
function localityOf(text: string | undefined): Locality {
  const [region = '', zone = '', subzone = ''] = (text ?? '').split('/', 3);
  return { region, zone, subzone };
}

/**
 * The Workloads of every ServiceEntry of `infos` (the winning hosts after resolveHostnames, grouped
 * by entry in their order). An endpoint of an entry joins every winning host of it; an implicit
 * DNS endpoint only its own host. A repeated address of one entry is reported and skipped.
 */
export function serviceEntryWorkloads(infos: readonly ServiceEntryInfo[], ctx: ServiceEntryWorkloadContext): Workload[] {
  const byEntry = new Map<ServiceEntryObject, ServiceEntryInfo[]>();
  for (const i of infos) {
    const l = byEntry.get(i.object);
    if (l === undefined) byEntry.set(i.object, [i]);
    else l.push(i);
  }
  const out: Workload[] = [];
  for (const [se, hosts] of byEntry) out.push(...entryWorkloads(se, hosts, ctx));
  return out;
}

function entryWorkloads(se: ServiceEntryObject, hosts: readonly ServiceEntryInfo[], ctx: ServiceEntryWorkloadContext): Workload[] {
  const { options } = ctx;
  const spec = se.spec ?? {};
  const resolution = resolutionOf(se);
  const implicit = (spec.endpoints ?? []).length === 0 && (resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && spec.workloadSelector === undefined;
  const endpoints: Array<{ ep: ServiceEntryEndpoint; hosts: readonly ServiceEntryInfo[]; at: string }> = implicit
    ? hosts.map((h) => ({ ep: { address: h.service.hostname }, hosts: [h], at: `spec.hosts[${h.hostIndex}]` }))
    : (spec.endpoints ?? []).map((ep, i) => ({ ep, hosts, at: `spec.endpoints[${i}]` }));
  if (endpoints.length === 0) return [];
  const namespace = se.metadata.namespace ?? '';
  const labels = labelsOf(se);
  const policies = [
    ...selectedPolicyKeys(ctx.policies, namespace, labels, options.rootNamespace),
    ...peerAuthenticationKeys(ctx.peerAuthentications, options.rootNamespace, namespace, labels),
  ];
  // istiod setTunnelProtocol: the entry's own tunnel label or redirection annotation.
  const nativeTunnel = labels[LABEL.tunnel] === 'http';
  const hbone = nativeTunnel || annotationsOf(se)[ANNOTATION.ambientRedirection] === 'enabled';
  const seen = new Set<string>();
  const out: Workload[] = [];
  for (const { ep, hosts: joins, at } of endpoints) {
    const address = ep.address ?? '';
    if (seen.has(address)) {
      ctx.problems.warning(refOf(se), `${at}.address`, `address ${address} is already an endpoint of this ServiceEntry; ignored`);
      continue;
    }
    seen.add(address);
    const ip = canonicalIp(address);
    // Implicit endpoints have no labels of their own, hence no workload waypoint (istiod).
    let waypoint: Workload['waypoint'];
    if (!implicit) {
      const wp = ctx.waypoints.forEndpointLabels(namespace, ep.labels ?? {});
      waypoint = wp.waypoint?.address;
      if (wp.problem?.labelOn === 'object') ctx.problems.warning(refOf(se), `${at}.labels["${LABEL.useWaypoint}"]`, wp.problem.reason);
    }
    const ports = endpointPorts(se, ep);
    out.push({
      uid: serviceEntryUid(options.clusterId, namespace, se.metadata.name, address),
      name: se.metadata.name,
      namespace,
      workloadIps: ip === undefined ? [] : [ip],
      hostname: ip === undefined ? address : '',
      network: ep.network || options.network,
      protocol: hbone ? 'HBONE' : 'TCP',
      trustDomain: options.trustDomain,
      serviceAccount: ep.serviceAccount || 'default',
      waypoint,
      networkGateway: undefined,
      node: '',
      ...canonicalService(labels, se.metadata.name),
      // istiod impersonates a pod for these (WorkloadType_POD), named after the entry.
      workloadType: 'pod',
      workloadName: se.metadata.name,
      nativeTunnel,
      applicationTunnel: undefined,
      services: new Map(joins.map((h) => [serviceKey(h.service.namespace, h.service.hostname), ports])),
      authorizationPolicies: policies,
      status: 'Healthy',
      clusterId: options.clusterId,
      locality: localityOf(ep.locality),
      networkMode: 'Standard',
      capacity: ep.weight !== undefined && ep.weight > 0 ? ep.weight : 1,
      netns: undefined,
    });
  }
  return out;
}
