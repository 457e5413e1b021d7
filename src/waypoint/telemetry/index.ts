// Public surface of the waypoint telemetry: request spans (Istio HTTP metrics, access log, trace
// and request-id propagation), TCP relay records, Envoy response flags.

export { WaypointTelemetry } from './waypoint-telemetry.js';
export type { WaypointPeer, RequestStart, RequestEnd, RequestSpan, RequestNotes, WaypointTelemetryOptions } from './waypoint-telemetry.js';
export type { TcpRelay, TcpRelayStart, TcpRelayEnd } from './tcp-relay-record.js';
export { RESPONSE_FLAGS, NO_RESPONSE_FLAGS, joinResponseFlags, isResponseFlags, addResponseFlags } from './response-flags.js';
export type { ResponseFlagName } from './response-flags.js';
export { propagateTraceContext, parseTraceparent, RANDOM_IDS } from './trace-context.js';
export type { TraceContext, TraceIdSource } from './trace-context.js';
export { REQUEST_DURATION_BUCKETS_MS, REQUEST_BYTES_BUCKETS, REQUEST_LABEL_NAMES } from './request-metrics.js';
export type { RequestLabels, RequestLabelName } from './request-metrics.js';
export { waypointTrafficLabels, requestLabels, httpToGrpcStatus } from './request-labels.js';
export type { WaypointSelf } from './request-labels.js';
