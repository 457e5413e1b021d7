// The xDS Node this agent presents on the first request of each type (upstream: ztunnel
// src/xds/client.rs `Config::node`): ztunnel's id format and metadata, so istiod treats Ambit as a ztunnel.

import { DEFAULTS, type MetadataValue, type ProxyPod } from '../config/index.js';
import type { AdsNode } from './delta-ads-messages.js';

/** Istio's proxy types (pilot/pkg/model NodeType) that Ambit presents: the node agent, the waypoint. */
export type AdsNodeType = 'ztunnel' | 'waypoint';

export interface AdsNodeInputs {
  /** Default `ztunnel`. */
  readonly type?: AdsNodeType;
  readonly pod: ProxyPod;
  /** NODE_NAME as configured. */
  readonly nodeName: string;
  /** ISTIO_META_* / ISTIO_METAJSON_* entries, prefix stripped. */
  readonly metadata: Readonly<Record<string, MetadataValue>>;
}

/**
 * `<type>~<INSTANCE_IP or 1.1.1.1>~<POD_NAME>.<POD_NAMESPACE>~<POD_NAMESPACE>.svc.cluster.local`
 * (the suffix is literal in ztunnel, whatever CLUSTER_DOMAIN says); type `ztunnel` for the agent,
 * `waypoint` for `ambit waypoint` (istiod parses the type from the id's first field).
 */
export function adsNodeId(pod: ProxyPod, type: AdsNodeType = 'ztunnel'): string {
  const ip = pod.instanceIp ?? DEFAULTS.instanceIpFallback;
  return `${type}~${ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.cluster.local`;
}

/** NAME, NAMESPACE, INSTANCE_IPS, NODE_NAME, then the proxy metadata (which may override them, as in ztunnel). */
export function adsNode(inputs: AdsNodeInputs): AdsNode {
  const { pod } = inputs;
  return {
    id: adsNodeId(pod, inputs.type),
    metadata: {
      NAME: pod.name,
      NAMESPACE: pod.namespace,
      INSTANCE_IPS: pod.instanceIp ?? DEFAULTS.instanceIpFallback,
      NODE_NAME: inputs.nodeName,
      ...inputs.metadata,
    },
  };
}
