// Public surface of the Kubernetes object model: the kinds the control plane reads, their upstream
// types, and the snapshot/source contract shared by the manifests and cluster sources and translation.

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
