// Public surface of the control plane (`ambit control`, Istio's istiod role). The data plane never
// imports this module; src/bin wires it to object sources, the xDS server and the CA server.

export * from './ads/index.js';
export * from './ca/index.js';
export * from './translate/index.js';
export { MeshPipeline, type MeshPipelineInputs, type PipelineState, type ResourceEncoders } from './mesh-pipeline.js';
export { MonitoringServer, type MonitoredPlane, type MonitoringServerOptions } from './monitoring-server.js';
export { RouteStatusWriter, desiredParents, newestObserved, type StatusKind, type StatusPatcher } from './route-status-writer.js';
export { GatewayStatusWriter, desiredGatewayStatus, newestObservedGateway, type StoredGatewayStatus } from './gateway-status-writer.js';
