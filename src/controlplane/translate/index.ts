// Public surface of the mesh translation (Kubernetes objects → the node agents' workload model): translateMesh,
// MeshTranslator (successive snapshots, reusing what did not change), their options and result, route status.

export { translateMesh, MeshTranslator } from './mesh.js';
export { MESH_CONTROLLER } from './labels.js';
export type { MeshTranslation, ObjectRef, TranslateOptions, TranslationError, WaypointInfo } from './types.js';
export type { HttpRouteStatus, ParentRef, RouteCondition, RouteParentStatus } from './route-status.js';
