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

/**
 * ServiceEntry hosts by hostname, for VirtualService destinations naming an external host: the
 * entry in the VirtualService's namespace when there is one, else the canonical one (istiod's
 * hostname resolution for destinations), as a served service (ports, protocol).
 */
export class EntryHosts {
  private readonly byHost = new Map<string, Service[]>();

  constructor(
    private readonly snapshot: ObjectSnapshot,
    services: readonly Service[],
  ) {
    for (const s of services) {
      if (snapshot.get('ServiceEntry', s.namespace, s.name) === undefined) continue;
      const l = this.byHost.get(s.hostname);
      if (l === undefined) this.byHost.set(s.hostname, [s]);
      else l.push(s);
    }
  }

  get(hostname: string, preferNamespace: string): ServedService | undefined {
    const candidates = this.byHost.get(hostname) ?? [];
    const s = candidates.find((c) => c.namespace === preferNamespace) ?? candidates.find((c) => c.canonical) ?? candidates[0];
    return s === undefined ? undefined : servedServiceOf(s, this.snapshot);
  }
}
