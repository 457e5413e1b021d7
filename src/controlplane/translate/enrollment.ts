// Which pods become workloads, and which of those the node agent captures (ambient enrollment):
// the pod lifecycle filter of istiod's podWorkloadBuilder and istio-cni's enablement rules.

import type { KubeObject } from '../../k8s/index.js';
import type { NetworkMode, TunnelProtocol } from '../../state/index.js';
import { ANNOTATION, LABEL, annotationsOf, labelsOf } from './labels.js';

/**
 * A pod is a workload unless it is terminal (phase Succeeded or Failed: kubeutil.CheckPodTerminal).
 * Pending pods count (an init container may still run: istio/istio#48854), and so do pods being
 * deleted: istiod keeps them, UNHEALTHY, so connections drain through their node agent during
 * the grace period (workloads.go) — removing them would tear down the in-pod proxy early.
 */
export function isTerminal(pod: KubeObject<'Pod'>): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * The ambient enrollment decision (istio-cni's default enablement selector,
 * cni/pkg/util/podutil.go PodRedirectionEnabled):
 * - the namespace, or the pod itself, has `istio.io/dataplane-mode=ambient`;
 * - a pod label `istio.io/dataplane-mode` with any other value (`none`) opts the pod out, also in
 *   an ambient namespace;
 * - a pod with an injected sidecar (`sidecar.istio.io/status`) is never captured;
 * - a host-network pod is never captured: its rules would land in the node's own netns.
 */
export function isEnrolled(pod: KubeObject<'Pod'>, namespace: KubeObject<'Namespace'> | undefined): boolean {
  if (pod.spec?.hostNetwork === true) return false;
  if (Object.hasOwn(annotationsOf(pod), ANNOTATION.sidecarStatus)) return false;
  const podMode = labelsOf(pod)[LABEL.dataplaneMode];
  if (podMode !== undefined) return podMode === 'ambient';
  return (namespace ? labelsOf(namespace)[LABEL.dataplaneMode] : undefined) === 'ambient';
}

export interface TunnelSettings {
  readonly protocol: TunnelProtocol;
  /** The workload terminates HBONE itself (waypoints, gateways): `networking.istio.io/tunnel=http`. */
  readonly nativeTunnel: boolean;
  readonly networkMode: NetworkMode;
}

/**
 * istiod's setTunnelProtocol: HBONE when the pod is captured or speaks HBONE natively, else TCP.
 * istiod learns "captured" from istio-cni's `ambient.istio.io/redirection: enabled` annotation;
 * with no CNI writing it (Ambit's manifests), the enrollment labels decide as well, so either
 * signal makes the workload HBONE. Host-network pods are HOST_NETWORK: their IP is the node's,
 * so node agents must not index them by IP.
 */
export function tunnelSettings(pod: KubeObject<'Pod'>, namespace: KubeObject<'Namespace'> | undefined): TunnelSettings {
  const nativeTunnel = labelsOf(pod)[LABEL.tunnel] === 'http';
  const redirected = annotationsOf(pod)[ANNOTATION.ambientRedirection] === 'enabled';
  const hbone = nativeTunnel || redirected || isEnrolled(pod, namespace);
  return {
    protocol: hbone ? 'HBONE' : 'TCP',
    nativeTunnel,
    networkMode: pod.spec?.hostNetwork === true ? 'HostNetwork' : 'Standard',
  };
}
