// Endpoints of Services without a selector, from their EndpointSlices (istiod workloads.go
// endpointSlicesBuilder and matchingServicesWithoutSelectors).
//
// Kubernetes has Service, Pod and EndpointSlice; the workload API has only Service and Workload.
// A slice endpoint that names a Pod (targetRef) adds the Service to that pod's workload; any
// other endpoint (a hand-written IP) becomes a Workload of its own, with only what the slice says.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { canonicalIp, serviceKey, type Workload } from '../../state/index.js';
import { LABEL, labelsOf, serviceHostname } from './labels.js';
import type { KubeServiceInfo, ServiceInfo } from './services.js';
import { refOf, type Problems, type TranslateOptions } from './types.js';

type Slice = KubeObject<'EndpointSlice'>;

/** The Service a slice belongs to (label kubernetes.io/service-name), if it translated. */
function sliceService(slice: Slice, servicesByKey: ReadonlyMap<string, ServiceInfo>, options: TranslateOptions): KubeServiceInfo | undefined {
  const name = labelsOf(slice)[LABEL.serviceName];
  if (name === undefined) return undefined; // not for a Service: an arbitrary bag of IPs
  if (slice.addressType === 'FQDN') return undefined; // istiod does not support FQDN slices
  const ns = slice.metadata.namespace ?? '';
  const info = servicesByKey.get(serviceKey(ns, serviceHostname(name, ns, options.domainSuffix)));
  // Only a Kubernetes Service has slices (istiod: FilterGeneric on kind Service).
  return info?.source === 'Service' ? info : undefined;
}

/**
 * Per pod, the translated Services whose EndpointSlices list it by targetRef (kind Pod, namespace,
 * name and uid all equal; a targetRef without a namespace means the slice's), in slice order, each
 * once. Built once per translation: a pod's lookup is two map accesses, not a scan of every slice.
 */
export class PodSliceIndex {
  /** namespace → pod name → the targetRefs' uids with their Services. */
  readonly #byPod = new Map<string, Map<string, Array<{ readonly uid: string; readonly services: ServiceInfo[] }>>>();

  constructor(snapshot: ObjectSnapshot, servicesByKey: ReadonlyMap<string, ServiceInfo>, options: TranslateOptions) {
    for (const slice of snapshot.list('EndpointSlice')) {
      const svc = sliceService(slice, servicesByKey, options);
      if (svc === undefined) continue;
      for (const ep of slice.endpoints) {
        const t = ep.targetRef;
        if (t?.kind !== 'Pod' || t.name === undefined) continue;
        const ns = t.namespace ?? slice.metadata.namespace ?? '';
        let byName = this.#byPod.get(ns);
        if (byName === undefined) this.#byPod.set(ns, (byName = new Map()));
        let refs = byName.get(t.name);
        if (refs === undefined) byName.set(t.name, (refs = []));
        const uid = t.uid ?? '';
        let ref = refs.find((r) => r.uid === uid);
        if (ref === undefined) refs.push((ref = { uid, services: [] }));
        if (!ref.services.includes(svc)) ref.services.push(svc);
      }
    }
  }

  /** The Services whose slices list `pod`, in slice order (the same array for the same pod and index). */
  of(pod: KubeObject<'Pod'>): readonly ServiceInfo[] {
    const refs = this.#byPod.get(pod.metadata.namespace ?? '')?.get(pod.metadata.name);
    if (refs === undefined) return NONE;
    const uid = pod.metadata.uid ?? '';
    return refs.find((r) => r.uid === uid)?.services ?? NONE;
  }
}

const NONE: readonly ServiceInfo[] = [];

/**
 * Services (not already selecting the pod) whose EndpointSlices list the pod by targetRef.
 * A slice that only shares the pod's IP is not merged with the pod.
 */
export function servicesFromSlices(pod: KubeObject<'Pod'>, already: readonly ServiceInfo[], slices: PodSliceIndex): ServiceInfo[] {
  const listed = slices.of(pod);
  if (listed.length === 0) return [];
  const seen = new Set(already.map((s) => s.service.hostname));
  return listed.filter((s) => !seen.has(s.service.hostname));
}

/**
 * One Workload per endpoint of a Service's slice that is not a Pod. What istiod sends:
 * uid `<cluster>/discovery.k8s.io/EndpointSlice/<ns>/<slice>/<first address>`, name the slice's,
 * all addresses, HOST_NETWORK mode (the IP may be shared: never indexed by IP), health from
 * conditions.ready (absent = ready), the Service's port map from the slice's ports joined to the
 * Service ports by name. No identity, policies, waypoint or locality are known; the service
 * account is the agent's default and the workload type the proto's zero value (DEPLOYMENT),
 * which is what an agent decoding istiod's message holds.
 */
export function endpointSliceWorkloads(
  snapshot: ObjectSnapshot,
  servicesByKey: ReadonlyMap<string, ServiceInfo>,
  options: TranslateOptions,
  problems: Problems,
): Workload[] {
  const out: Workload[] = [];
  for (const slice of snapshot.list('EndpointSlice')) {
    const svc = sliceService(slice, servicesByKey, options);
    if (svc === undefined) continue;
    const ports = slicePortMap(slice, svc);
    const key = serviceKey(svc.service.namespace, svc.service.hostname);
    const seen = new Set<string>();
    for (const [i, ep] of slice.endpoints.entries()) {
      if (ep.targetRef?.kind === 'Pod') continue; // the pod's own workload carries it
      const first = ep.addresses[0];
      if (first === undefined) continue;
      if (seen.has(first)) {
        problems.warning(refOf(slice), `endpoints[${i}].addresses[0]`, `address ${first} appears twice in the slice; later endpoint ignored`);
        continue;
      }
      seen.add(first);
      const ips = ep.addresses.map((a) => canonicalIp(a));
      if (ips.some((ip) => ip === undefined)) {
        problems.error(refOf(slice), `endpoints[${i}].addresses`, `"${ep.addresses.join('", "')}" holds a value that is not an IP address; endpoint left out`);
        continue;
      }
      out.push({
        uid: `${options.clusterId}/discovery.k8s.io/EndpointSlice/${slice.metadata.namespace}/${slice.metadata.name}/${first}`,
        name: slice.metadata.name,
        namespace: slice.metadata.namespace ?? '',
        workloadIps: ips as string[],
        hostname: '',
        network: options.network,
        protocol: 'TCP',
        trustDomain: options.trustDomain,
        serviceAccount: 'default',
        waypoint: undefined,
        networkGateway: undefined,
        node: '',
        canonicalName: '',
        canonicalRevision: '',
        workloadType: 'deployment',
        workloadName: '',
        nativeTunnel: false,
        applicationTunnel: undefined,
        services: new Map([[key, ports]]),
        authorizationPolicies: [],
        status: ep.conditions?.ready === false ? 'Unhealthy' : 'Healthy',
        clusterId: options.clusterId,
        locality: { region: '', zone: '', subzone: '' },
        networkMode: 'HostNetwork',
        capacity: 1,
        netns: undefined,
      });
    }
  }
  return out;
}

/**
 * A slice port is (service port name, target port): it maps the Service port of the same name to
 * that target port. TCP only. A slice port without a name or protocol gets the API server's
 * defaults ('' and TCP), as manifests are not defaulted.
 */
function slicePortMap(slice: Slice, svc: KubeServiceInfo): ReadonlyMap<number, number> {
  const out = new Map<number, number>();
  for (const p of slice.ports ?? []) {
    if (p.port === undefined || (p.protocol ?? 'TCP') !== 'TCP') continue;
    const sp = (svc.object.spec?.ports ?? []).find((s) => (s.name ?? '') === (p.name ?? ''));
    if (sp !== undefined) out.set(sp.port, p.port);
  }
  return out;
}
