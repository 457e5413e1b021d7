// Public surface of the Kubernetes object model: the kinds the control plane reads, their upstream
// types and validation, the snapshot/source contract, and its two sources (manifests folder, cluster).

export {
  KIND_INFO,
  KINDS,
  objectKey,
  type Kind,
  type KindInfo,
  type KindTypes,
  type KubeObject,
  type ObjectRejection,
  type ObjectSnapshot,
  type ObjectSource,
} from './objects.js';
export { ObjectStore, snapshotOf, type ObjectChange } from './object-store.js';
export { NETNS_ANNOTATION } from './annotations.js';
export { validateObject, rejectionOf, isKind, apiVersionsOf, nameProblems, type Validation, type ObjectIdentity, type FieldProblem } from './validation.js';
export { SCHEMA_MODELS, formatFieldPath, modelProblems, type ModelClass } from './schema-models.js';
export { ManifestsSource, type ManifestsSourceOptions } from './manifests-source.js';
export { REJECTED_OBJECTS_METRIC } from './rejections.js';
