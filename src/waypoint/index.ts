// Public surface of the waypoint: the L7 data path (WaypointProxy) and the route model it executes.
// The routing and telemetry libraries have their own index files.

export { WaypointProxy, HBONE_PORT, type WaypointProxyInputs } from './waypoint-proxy.js';
export { prepareWaypointConfig } from './prepare-config.js';
export { RETRY_BODY_LIMIT_BYTES } from './body-tap.js';
export { backoffMs } from './request-forwarder.js';
export { grpcStatusForHttp } from './local-reply.js';
export * from './model/route-model.js';
export * from './model/security-model.js';
export { topologyLabels, type LocalitySelf } from './locality.js';
