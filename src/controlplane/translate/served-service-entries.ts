// ServiceEntry hosts a waypoint serves (an entry labelled istio.io/use-waypoint, or in a namespace
// that is): each host is a served service whose ports carry the entry's `protocol` (Istio reads a
// ServiceEntry port's protocol, not its name), and whose default cluster is the host's endpoints
// (plain TCP to external addresses, or hostnames the waypoint resolves).

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import type { Service } from '../../state/index.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, clusterName, type Cluster } from '../../waypoint/model/route-model.js';
import { serviceCluster } from './backend-refs.js';
import { detectPortProtocol, upstreamProtocol } from './port-protocol.js';
import type { ServedService } from './route-attachment.js';
import type { TranslateOptions } from './types.js';

/**
 * The object a translated Service came from: the Kubernetes Service of that name when the hostname
 * is its own (`<name>.<namespace>.svc.…`), else the ServiceEntry of that name listing the host.
 */
export function servedServiceOf(s: Service, snapshot: ObjectSnapshot): ServedService | undefined {
  const kube = snapshot.get('Service', s.namespace, s.name);
  if (kube !== undefined && s.hostname.startsWith(`${s.name}.${s.namespace}.svc.`)) {
    const ports = (kube.spec?.ports ?? []).map((p) => ({ port: p.port, name: p.name ?? '', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
    return { object: kube, namespace: s.namespace, name: s.name, hostname: s.hostname, ports };
  }
  const se = snapshot.get('ServiceEntry', s.namespace, s.name);
  if (se === undefined || !(se.spec?.hosts ?? []).includes(s.hostname)) return undefined;
  const ports = (se.spec?.ports ?? []).map((p) => ({ port: p.number ?? 0, name: p.name ?? '', ...(p.protocol ? { appProtocol: p.protocol } : {}) }));
  return { object: se, namespace: s.namespace, name: s.name, hostname: s.hostname, ports };
}

/**
 * The default cluster of a served service port: a Service's (backend-refs serviceCluster), or for a
 * ServiceEntry host `outbound|<port>||<host>` with the port's protocol, Istio's LB and timeout.
 */
export function servedCluster(svc: ServedService, port: number, options: TranslateOptions): Cluster | undefined {
  if (svc.object.kind === 'Service') return serviceCluster(svc.object as KubeObject<'Service'>, port, options);
  const p = svc.ports.find((x) => x.port === port);
  if (p === undefined) return undefined;
  return {
    name: clusterName(svc.hostname, port),
    hostname: svc.hostname,
    namespace: svc.namespace,
    port,
    protocol: upstreamProtocol(detectPortProtocol(p).protocol),
    lb: { kind: 'LEAST_REQUEST' },
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  };
}
