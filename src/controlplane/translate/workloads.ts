// Pods → istio.workload.Workload (istiod ambient workloads.go podWorkloadBuilder): identity,
// addresses, tunnel, telemetry names, service endpoints, policies, waypoint and locality.

import { isAbsolute } from 'node:path';
import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { canonicalIp, serviceKey, type Locality, type PortMap, type Workload } from '../../state/index.js';
import { selectedPolicyKeys, type TranslatedPolicy } from './authorization.js';
import { servicesFromSlices, type PodSliceIndex } from './endpoint-slices.js';
import { isEnrolled, isTerminal, tunnelSettings } from './enrollment.js';
import { ANNOTATION, LABEL, annotationsOf, labelsOf } from './labels.js';
import { endpointPortMap } from './named-ports.js';
import { peerAuthenticationKeys } from './peer-authentication.js';
import type { ServiceSelectorIndex } from './services.js';
import { refOf, type Problems, type TranslateOptions } from './types.js';
import type { WaypointIndex } from './waypoints.js';
import { canonicalService, workloadMeta } from './workload-meta.js';

/**
 * Everything a pod's translation looks up, built once per snapshot. Reading another kind here
 * means adding it to POD_CONTEXT_KINDS (mesh.ts), or a changed object of it would go unnoticed.
 */
export interface WorkloadContext {
  readonly snapshot: ObjectSnapshot;
  readonly options: TranslateOptions;
  /** The translated Services, by selector. */
  readonly serviceIndex: ServiceSelectorIndex;
  /** The translated Services whose EndpointSlices list a pod. */
  readonly slices: PodSliceIndex;
  readonly policies: readonly TranslatedPolicy[];
  readonly peerAuthentications: readonly KubeObject<'PeerAuthentication'>[];
  readonly waypoints: WaypointIndex;
  readonly problems: Problems;
}

/**
 * The pod's Workload, or undefined when it is not one: terminal pods, and pods without an IP
 * yet. A pod IP that does not parse leaves the pod out (istiod does the same) and is reported.
 * Status is Healthy iff the Ready condition is True and the pod is not being deleted.
 */
export function translatePod(pod: KubeObject<'Pod'>, ctx: WorkloadContext): Workload | undefined {
  const { options, problems } = ctx;
  if (isTerminal(pod)) return undefined;
  const ipTexts = podIps(pod);
  if (ipTexts.length === 0) return undefined;
  const ips: string[] = [];
  for (const [i, text] of ipTexts.entries()) {
    const ip = canonicalIp(text);
    if (ip === undefined) {
      problems.error(refOf(pod), pod.status?.podIPs?.length ? `status.podIPs[${i}].ip` : 'status.podIP', `"${text}" is not an IP address; pod left out`);
      return undefined;
    }
    ips.push(ip);
  }
  const namespace = pod.metadata.namespace ?? '';
  const nsObj = ctx.snapshot.get('Namespace', undefined, namespace);
  const labels = labelsOf(pod);

  const selected = ctx.serviceIndex.selecting(pod);
  const services = new Map<string, PortMap>();
  for (const s of [...selected, ...servicesFromSlices(pod, selected, ctx.slices)]) {
    services.set(serviceKey(s.service.namespace, s.service.hostname), s.source === 'Service' ? endpointPortMap(s.object, pod) : s.podPorts);
  }

  const authorizationPolicies = [
    ...selectedPolicyKeys(ctx.policies, namespace, labels, options.rootNamespace),
    ...peerAuthenticationKeys(ctx.peerAuthentications, options.rootNamespace, namespace, labels),
  ];

  // A waypoint's own pods get no waypoint; they may get an inbound binding (application tunnel).
  const instance = ctx.waypoints.instanceOf(pod);
  let waypoint: Workload['waypoint'];
  if (instance === undefined) {
    const wp = ctx.waypoints.forWorkload(pod);
    waypoint = wp.waypoint?.address;
    // Only a pod's own label is reported: a namespace waypoint for services only is normal.
    if (wp.problem?.labelOn === 'object') problems.warning(refOf(pod), `metadata.labels["${LABEL.useWaypoint}"]`, wp.problem.reason);
  }

  const tunnel = tunnelSettings(pod, nsObj);
  const meta = workloadMeta(pod);
  // The netns is the capture instruction (istio-cni's ZDS message): only for enrolled pods, so a
  // label flip starts or stops the in-pod proxy live. The annotation is checked either way.
  const netns = podNetns(pod, problems);
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  return {
    uid: podUid(options.clusterId, namespace, pod.metadata.name),
    name: pod.metadata.name,
    namespace,
    workloadIps: ips,
    hostname: '',
    network: options.network,
    protocol: tunnel.protocol,
    trustDomain: options.trustDomain,
    serviceAccount: pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default',
    waypoint,
    networkGateway: undefined,
    node: pod.spec?.nodeName ?? '',
    ...canonicalService(labels, meta.workloadName),
    ...meta,
    nativeTunnel: tunnel.nativeTunnel,
    applicationTunnel: instance?.binding,
    services,
    authorizationPolicies,
    status: ready && pod.metadata.deletionTimestamp === undefined ? 'Healthy' : 'Unhealthy',
    clusterId: options.clusterId,
    locality: podLocality(pod, ctx.snapshot),
    networkMode: tunnel.networkMode,
    capacity: 1,
    netns: isEnrolled(pod, nsObj) ? netns : undefined,
    // Carried to the pod's node agent (Ambit extension); ALLOW_ANY is the absence of it.
    ...(options.outboundTrafficPolicy === 'REGISTRY_ONLY' ? { outboundTrafficPolicy: 'REGISTRY_ONLY' as const } : {}),
  };
}

/**
 * istiod helpers.go generatePodUID: `<cluster>//Pod/<namespace>/<name>` (empty group, no
 * version; ztunnel's own examples write `//v1/Pod/`, which istiod does not send).
 */
export function podUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}//Pod/${namespace}/${name}`;
}

/** status.podIPs, or status.podIP when the list is absent (istiod getPodIPs). */
function podIps(pod: KubeObject<'Pod'>): string[] {
  const list = (pod.status?.podIPs ?? []).map((p) => p.ip ?? '');
  if (list.length > 0) return list;
  return pod.status?.podIP ? [pod.status.podIP] : [];
}

/**
 * From the pod's Node (when Node objects are known): topology.kubernetes.io/region and /zone,
 * topology.istio.io/subzone (istiod getPodLocality). No Node: empty locality.
 */
function podLocality(pod: KubeObject<'Pod'>, snapshot: ObjectSnapshot): Locality {
  const nodeName = pod.spec?.nodeName;
  const node = nodeName ? snapshot.get('Node', undefined, nodeName) : undefined;
  const l = node ? labelsOf(node) : {};
  return { region: l[LABEL.region] ?? '', zone: l[LABEL.zone] ?? '', subzone: l[LABEL.subzone] ?? '' };
}

/** Ambit's `ambit.dev/netns` annotation: an absolute path (/var/run/netns/NAME or /proc/PID/ns/net). */
function podNetns(pod: KubeObject<'Pod'>, problems: Problems): string | undefined {
  const v = annotationsOf(pod)[ANNOTATION.netns];
  if (v === undefined) return undefined;
  if (!isAbsolute(v)) {
    problems.error(refOf(pod), `metadata.annotations["${ANNOTATION.netns}"]`, `netns must be an absolute path, got "${v}"; ignored`);
    return undefined;
  }
  return v;
}
