// translateMesh: one object snapshot → everything node agents need (istiod's ambient index for
// ztunnel), plus per-object problems and HTTPRoute status. Pure: no I/O, same input ⇒ same output.

import type { ObjectSnapshot } from '../../k8s/index.js';
import { policyKey, serviceKey, type Authorization, type Workload } from '../../state/index.js';
import { translateAuthorizationPolicy, type TranslatedPolicy } from './authorization.js';
import { endpointSliceWorkloads } from './endpoint-slices.js';
import { convertPeerAuthentication, staticStrictPolicy } from './peer-authentication.js';
import { httpRouteStatuses } from './route-status.js';
import { translateService, type ServiceInfo } from './services.js';
import { Problems, type MeshTranslation, type TranslateOptions } from './types.js';
import { WaypointIndex } from './waypoints.js';
import { translatePod } from './workloads.js';

export function translateMesh(snapshot: ObjectSnapshot, options: TranslateOptions): MeshTranslation {
  const problems = new Problems();
  const waypoints = new WaypointIndex(snapshot, options, problems);

  const services: ServiceInfo[] = [];
  for (const svc of snapshot.list('Service')) {
    const info = translateService(svc, options, waypoints, problems);
    if (info) services.push(info);
  }
  const servicesByKey = new Map(services.map((s) => [serviceKey(s.service.namespace, s.service.hostname), s]));

  const translated: TranslatedPolicy[] = [];
  for (const ap of snapshot.list('AuthorizationPolicy')) {
    const t = translateAuthorizationPolicy(ap, options.rootNamespace, problems);
    if (t) translated.push(t);
  }
  const peerAuthentications = snapshot.list('PeerAuthentication');
  const policies: Authorization[] = translated.map((t) => t.authorization);
  for (const pa of peerAuthentications) {
    const converted = convertPeerAuthentication(pa, peerAuthentications, options.rootNamespace, problems);
    if (converted) policies.push(converted);
  }
  if (peerAuthentications.length > 0) policies.push(staticStrictPolicy(options.rootNamespace));

  const ctx = { snapshot, options, services, servicesByKey, policies: translated, peerAuthentications, waypoints, problems };
  const workloads: Workload[] = [];
  for (const pod of snapshot.list('Pod')) {
    const w = translatePod(pod, ctx);
    if (w) workloads.push(w);
  }
  workloads.push(...endpointSliceWorkloads(snapshot, servicesByKey, options, problems));

  const byString = <T>(key: (t: T) => string) => (a: T, b: T): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return {
    workloads: workloads.sort(byString((w) => w.uid)),
    services: services.map((s) => s.service).sort(byString((s) => serviceKey(s.namespace, s.hostname))),
    policies: policies.sort(byString((p) => policyKey(p.namespace, p.name))),
    waypoints: waypoints
      .all()
      .map(({ namespace, name, trafficType, address }) => ({ namespace, name, trafficType, address }))
      .sort(byString((w) => `${w.namespace}/${w.name}`)),
    httpRouteStatus: httpRouteStatuses(snapshot, waypoints, options),
    errors: problems.list,
  };
}
