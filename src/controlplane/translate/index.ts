// Public surface of the mesh translation (Kubernetes objects → the node agents' workload model): translateMesh,
// MeshTranslator (successive snapshots, reusing what did not change), their options and result, route status;
// and the waypoint translation (HTTPRoute/GRPCRoute/TCPRoute, VirtualService/DestinationRule → WaypointConfig),
// alone or with the mesh.

export { translateMesh, MeshTranslator } from './mesh.js';
export { MESH_CONTROLLER } from './labels.js';
export type { MeshTranslation, ObjectRef, TranslateOptions, TranslationError, WaypointInfo } from './types.js';
export { STATUS_KINDS, type HttpRouteStatus, type ParentRef, type RouteCondition, type RouteParentStatus, type RouteStatus } from './route-status.js';
export {
  GATEWAY_CONDITION_TYPES, LISTENER_CONDITION_TYPES, gatewayStatuses,
  type GatewayCondition, type GatewayListenerStatus, type GatewayStatus, type GatewayStatusAddress, type RouteGroupKind,
} from './gateway-status.js';
export { parentConditions, type ConditionType, type ParentFacts, type Verdict } from './route-conditions.js';
export type { PortOutcome, RouteReport } from './route-findings.js';
export { ruleFacts, type DroppedRule, type RouteRuleFacts, type UnresolvedRef } from './route-problems.js';
export { translateWaypoints, type WaypointTranslation } from './waypoint-config.js';
export { translateAll, type FullTranslation } from './translate-all.js';
export { detectPortProtocol, type DetectedProtocol } from './port-protocol.js';
export { comparePrecedence, precedenceKey, type PrecedenceKey } from './route-precedence.js';
export { parseGatewayDuration } from './gateway-duration.js';
export { isValidRe2 } from './re2-check.js';
export { parseIstioDuration } from './istio-duration.js';
export { gatewayOrigin } from './cors-policy.js';
