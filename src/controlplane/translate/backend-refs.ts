// Gateway API backendRefs (BackendObjectReference) → the waypoint's clusters: a core Service port
// becomes `outbound|<port>||<hostname>`; anything else is an invalid backend the route answers 500 for.
//
// Mesh (GEP-1294): cross-namespace backendRefs need no ReferenceGrant. ExternalName Services are
// not supported (the spec says SHOULD NOT), nor are Services missing from the snapshot.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, clusterName, type Cluster } from '../../waypoint/model/route-model.js';
import { serviceHostname } from './labels.js';
import { detectPortProtocol, upstreamProtocol } from './port-protocol.js';
import type { TranslateOptions } from './types.js';

export interface BackendRefView {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
  readonly weight?: number;
}

/** A backendRef resolved to a cluster, or why it is invalid (Gateway API ResolvedRefs reasons). */
export type ResolvedBackend =
  | { readonly ok: true; readonly cluster: Cluster }
  | { readonly ok: false; readonly reason: 'InvalidKind' | 'BackendNotFound'; readonly message: string };

export const isCoreGroup = (group: string | undefined): boolean => group === undefined || group === '' || group === 'core';

/** Resolves `ref` (written in a route of namespace `routeNs`) against the snapshot. */
export function resolveBackendRef(ref: BackendRefView, routeNs: string, snapshot: ObjectSnapshot, options: TranslateOptions): ResolvedBackend {
  const kind = ref.kind ?? 'Service';
  if (!isCoreGroup(ref.group) || kind !== 'Service') {
    return { ok: false, reason: 'InvalidKind', message: `unsupported backendRef kind: group "${ref.group ?? ''}" kind "${kind}"` };
  }
  const ns = ref.namespace ?? routeNs;
  const svc = snapshot.get('Service', ns, ref.name);
  const hostname = serviceHostname(ref.name, ns, options.domainSuffix);
  if (svc === undefined || svc.spec?.type === 'ExternalName') {
    return { ok: false, reason: 'BackendNotFound', message: `backend(${hostname}) not found` };
  }
  if (ref.port === undefined) {
    return { ok: false, reason: 'BackendNotFound', message: `backend(${hostname}): port is required for a Service backendRef` };
  }
  const cluster = serviceCluster(svc, ref.port, options);
  if (cluster === undefined) return { ok: false, reason: 'BackendNotFound', message: `backend(${hostname}) has no port ${ref.port}` };
  return { ok: true, cluster };
}

/**
 * The cluster of one Service port: Istio's outbound cluster name, HTTP/2 to http2/grpc ports,
 * LEAST_REQUEST (Istio's default LB) and the default connect timeout; the host's DestinationRule
 * is applied to every cluster afterwards (waypoint-config.ts).
 */
export function serviceCluster(svc: KubeObject<'Service'>, port: number, options: TranslateOptions): Cluster | undefined {
  const p = svc.spec?.ports?.find((x) => x.port === port);
  if (p === undefined) return undefined;
  const namespace = svc.metadata.namespace ?? '';
  const hostname = serviceHostname(svc.metadata.name, namespace, options.domainSuffix);
  return {
    name: clusterName(hostname, port),
    hostname,
    namespace,
    port,
    protocol: upstreamProtocol(detectPortProtocol(p).protocol),
    lb: { kind: 'LEAST_REQUEST' },
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  };
}
