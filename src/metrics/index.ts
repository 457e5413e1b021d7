// Public surface of the metrics module: the shared registry, Istio TCP traffic metrics and their
// labels, the Ambit error counter, the xDS client and in-pod workload manager metrics, the Prometheus
// stats server and the small HTTP listener.

export { createRegistry } from './registry.js';
export type { RegistryOptions } from './registry.js';
export { TRAFFIC_LABEL_NAMES, trafficLabels, workloadPrincipal } from './traffic-labels.js';
export type { ConnectionLabels, TrafficLabelName, TrafficLabelsInput, Reporter, SecurityPolicy } from './traffic-labels.js';
export { TrafficMetrics } from './traffic-metrics.js';
export type { ConnectionRecorder } from './traffic-metrics.js';
export { ErrorCounter } from './error-counter.js';
export { HeapTrimMetrics } from './heap-trim-metrics.js';
export { XdsMetrics, type XdsTerminationReason } from './xds-metrics.js';
export { WorkloadManagerMetrics } from './workload-manager-metrics.js';
export { encodeOpenMetrics } from './openmetrics.js';
export { StatsServer, wantsOpenMetrics, PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE } from './stats-server.js';
export type { StatsServerOptions } from './stats-server.js';
export { HttpListener, HttpEndpoint, reply, pathOf } from './http-listener.js';
export type { HttpHandler, HttpListenerOptions } from './http-listener.js';
export type { Registry } from 'prom-client';
