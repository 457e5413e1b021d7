// Public surface of the mesh translation (Kubernetes objects → the node agents' workload model):
// translateMesh, its options and result, and the HTTPRoute status it computes.

export { translateMesh } from './mesh.js';
export { MESH_CONTROLLER } from './labels.js';
export type { MeshTranslation, ObjectRef, TranslateOptions, TranslationError, WaypointInfo } from './types.js';
export type { HttpRouteStatus, ParentRef, RouteCondition, RouteParentStatus } from './route-status.js';
