// The label values of one waypoint request (or TCP relay): the node agent's traffic labels
// (src/metrics trafficLabels) with Istio's waypoint rules (istio/proxy istio_stats.cc, ServerGateway).

import { trafficLabels, type ConnectionLabels } from '../../metrics/index.js';
import type { Service, Workload } from '../../state/index.js';
import type { RequestLabels } from './request-metrics.js';

/** The waypoint itself, as the labels need it. */
export interface WaypointSelf {
  readonly namespace: string;
  readonly name: string;
  /** The waypoint's own SPIFFE principal (with or without `spiffe://`). */
  readonly identity: string;
  readonly workload?: Workload;
}

export interface PeerLabelsInput {
  readonly waypoint: WaypointSelf;
  readonly source?: Workload;
  /** The downstream's mTLS principal; absent ⇒ source_principal "unknown". */
  readonly sourcePrincipal?: string;
  /** The upstream endpoint picked (destination_* labels); absent when none was reached. */
  readonly destination?: Workload;
  /** Defaults to the destination workload's identity. */
  readonly destinationPrincipal?: string;
  /** The service addressed (destination_service*). */
  readonly destinationService?: Service;
  /** Host / :authority, the fallback for destination_service when the service is unknown. */
  readonly authority?: string;
}

const UNKNOWN = 'unknown';

/**
 * The 27 traffic labels for reporter="waypoint". Built with the agent's trafficLabels so names,
 * order and value rules ("unknown", spiffe:// principals, canonical name as app) are the agent's,
 * then three waypoint rules from Istio's stats filter (ServerGateway):
 * - reporter is "waypoint";
 * - destination_service falls back to the Host header when no service is known, and
 *   destination_service_name to the same (Envoy's host-header fallback);
 * - destination_service_namespace / destination_cluster fall back to the waypoint's own namespace /
 *   cluster (Envoy always reports those two from its own node metadata; we prefer the service's
 *   namespace and the endpoint's cluster when known, which is what they mean for a waypoint in the
 *   service's namespace, the common case).
 * connection_security_policy is mutual_tls when the downstream presented a principal (HBONE); the
 * waypoint's own identity is always present.
 */
export function waypointTrafficLabels(input: PeerLabelsInput): ConnectionLabels {
  const base = trafficLabels({
    reporter: 'destination',
    source: input.source,
    sourcePrincipal: input.sourcePrincipal,
    destination: input.destination,
    destinationPrincipal: input.destinationPrincipal,
    destinationService: input.destinationService,
    securityPolicy: input.sourcePrincipal !== undefined && input.sourcePrincipal !== '' && input.waypoint.identity !== '' ? 'mutual_tls' : 'unknown',
  });
  const svcUnknown = input.destinationService === undefined;
  const host = input.authority === undefined || input.authority === '' ? UNKNOWN : input.authority;
  return {
    ...base,
    reporter: 'waypoint',
    destination_service: svcUnknown ? host : base.destination_service,
    destination_service_name: svcUnknown ? host : base.destination_service_name,
    destination_service_namespace: svcUnknown ? orUnknown(input.waypoint.namespace) : base.destination_service_namespace,
    destination_cluster: input.destination === undefined ? orUnknown(input.waypoint.workload?.clusterId) : base.destination_cluster,
  };
}

/** "spiffe://" + principal, the form the agent labels and logs identities in; undefined stays undefined. */
export function spiffeUri(p: string | undefined): string | undefined {
  if (p === undefined || p === '') return undefined;
  return p.startsWith('spiffe://') ? p : `spiffe://${p}`;
}

function orUnknown(s: string | undefined): string {
  return s === undefined || s === '' ? UNKNOWN : s;
}

export interface ResultLabelsInput {
  readonly protocol: 'http' | 'grpc';
  /** HTTP status sent downstream; 0 when none was sent. */
  readonly status: number;
  readonly grpcStatus?: number;
  readonly flags: string;
}

/**
 * The request labels: traffic labels plus request_protocol, response_code, grpc_response_status,
 * response_flags. grpc_response_status is '' for HTTP, as Envoy reports it (an empty label is no
 * label to Prometheus); for gRPC without a grpc-status it is derived from the HTTP status as
 * Envoy's Grpc::Common::getGrpcStatus does, '' if no status was sent at all.
 */
export function requestLabels(traffic: ConnectionLabels, result: ResultLabelsInput): RequestLabels {
  let grpc = '';
  if (result.protocol === 'grpc') {
    if (result.grpcStatus !== undefined) grpc = String(result.grpcStatus);
    else if (result.status > 0) grpc = String(httpToGrpcStatus(result.status));
  }
  return {
    ...traffic,
    request_protocol: result.protocol,
    response_flags: result.flags === '' ? '-' : result.flags,
    response_code: String(result.status),
    grpc_response_status: grpc,
  };
}

/**
 * gRPC status for an HTTP status with no grpc-status (Envoy Grpc::Utility::httpToGrpcStatus,
 * after the gRPC spec's "HTTP to gRPC Status Code Mapping").
 */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}
