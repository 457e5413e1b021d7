// Annotations Ambit reads from Kubernetes objects, with their value formats. One place, so the
// control plane, the manifests folder and the docs agree on each name.

/**
 * On a Pod, in the manifests mode (no istio-cni, no kubelet): the path of the pod's network
 * namespace, for in-pod capture by the node agent, e.g. `/var/run/netns/NAME` (made by
 * `ip netns add NAME`) or `/proc/PID/ns/net`. The control plane carries it to the pod's
 * workload as its `netns` only while the pod is enrolled (`istio.io/dataplane-mode=ambient` on
 * the pod or its namespace, not opted out), as istio-cni hands ztunnel only captured pods: the
 * node agent captures exactly the local workloads that have one, so labelling or unlabelling
 * starts or stops capture live. In a cluster, istio-cni reports the namespace instead and the
 * annotation is not needed.
 */
export const NETNS_ANNOTATION = 'ambit.dev/netns';
