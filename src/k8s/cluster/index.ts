// The cluster source of the object model: list+watch against a Kubernetes API server with
// @kubernetes/client-node. Its own entry point so that only cluster mode loads the client (~90 MB RSS).

export { ClusterSource, loadKubeConfig, type ClusterSourceOptions } from './cluster-source.js';
export { KubeApiError, collectionPath } from './kube-request.js';
