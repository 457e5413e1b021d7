// The Istio TCP traffic label set (ztunnel src/proxy/metrics.rs): names in encoding order and the
// pure function that derives their values from source/destination workloads, principals and the
// service.

import type { Service, Workload } from '../state/types.js';

/** All 27 labels of the istio_tcp_* metrics, in ztunnel's encoding order. */
export const TRAFFIC_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
  'source_region',
  'source_zone',
  'destination_region',
  'destination_zone',
] as const;

export type TrafficLabelName = (typeof TRAFFIC_LABEL_NAMES)[number];

/** One connection's label values; never empty (empty renders as `unknown`). Key order = encoding order. */
export type ConnectionLabels = { readonly [K in TrafficLabelName]: string };

export type Reporter = 'source' | 'destination';
export type SecurityPolicy = 'mutual_tls' | 'unknown';

export interface TrafficLabelsInput {
  /** `source` = outbound (client side) proxy, `destination` = inbound (server side). */
  readonly reporter: Reporter;
  readonly source?: Workload;
  /** Source identity from TLS only (own identity outbound, peer cert inbound); absent for plaintext. */
  readonly sourcePrincipal?: string;
  /** On outbound via a waypoint this is the waypoint's workload. */
  readonly destination?: Workload;
  /** Defaults to the destination workload's identity. */
  readonly destinationPrincipal?: string;
  readonly destinationService?: Service;
  readonly securityPolicy: SecurityPolicy;
}

const UNKNOWN = 'unknown';

function v(s: string | undefined): string {
  return s === undefined || s === '' ? UNKNOWN : s;
}

/** Principals render as full SPIFFE URIs; a bare `td/ns/x/sa/y` gets the scheme added. */
function principal(p: string | undefined): string {
  if (p === undefined || p === '') return UNKNOWN;
  return p.startsWith('spiffe://') ? p : `spiffe://${p}`;
}

/** ztunnel's Workload::identity(): empty trust domain / service account take Istio's defaults. */
export function workloadPrincipal(w: Workload): string {
  const td = w.trustDomain === '' ? 'cluster.local' : w.trustDomain;
  const sa = w.serviceAccount === '' ? 'default' : w.serviceAccount;
  return `spiffe://${td}/ns/${w.namespace}/sa/${sa}`;
}

/**
 * Builds the label values per ztunnel src/proxy/metrics.rs. `response_flags` is '-' here: it is the
 * value at open; TrafficMetrics substitutes the final flag on the closed/failed counters only.
 *
 * Deviation (documented): ztunnel omits the four locality labels when neither source nor
 * destination info was filled; prom-client needs a fixed label set, so they are always present
 * (as `unknown` in that rare case).
 */
export function trafficLabels(input: TrafficLabelsInput): ConnectionLabels {
  const s = input.source;
  const d = input.destination;
  const svc = input.destinationService;
  return {
    reporter: input.reporter,
    source_workload: v(s?.workloadName),
    source_canonical_service: v(s?.canonicalName),
    source_canonical_revision: v(s?.canonicalRevision),
    source_workload_namespace: v(s?.namespace),
    // Only the TLS-derived identity, never the source workload's configured identity.
    source_principal: principal(input.sourcePrincipal),
    source_app: v(s?.canonicalName),
    source_version: v(s?.canonicalRevision),
    source_cluster: v(s?.clusterId),
    destination_service: v(svc?.hostname),
    destination_service_namespace: v(svc?.namespace),
    destination_service_name: v(svc?.name),
    destination_workload: v(d?.workloadName),
    destination_canonical_service: v(d?.canonicalName),
    destination_canonical_revision: v(d?.canonicalRevision),
    destination_workload_namespace: v(d?.namespace),
    destination_principal: principal(input.destinationPrincipal ?? (d === undefined ? undefined : workloadPrincipal(d))),
    destination_app: v(d?.canonicalName),
    destination_version: v(d?.canonicalRevision),
    destination_cluster: v(d?.clusterId),
    request_protocol: 'tcp',
    response_flags: '-',
    connection_security_policy: input.securityPolicy,
    source_region: v(s?.locality.region),
    source_zone: v(s?.locality.zone),
    destination_region: v(d?.locality.region),
    destination_zone: v(d?.locality.zone),
  };
}
