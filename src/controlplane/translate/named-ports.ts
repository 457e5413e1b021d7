// Service ports as node agents see them: servicePort → targetPort on the Service (0 for a named
// targetPort), and each endpoint pod's own map with the named targetPorts resolved.

import type { KubeObject } from '../../k8s/index.js';
import type { PortMap } from '../../state/index.js';

type ServicePort = NonNullable<NonNullable<KubeObject<'Service'>['spec']>['ports']>[number];

/** The name of a named targetPort, or undefined for a numeric (or absent) one. */
export function targetPortName(p: ServicePort): string | undefined {
  return typeof p.targetPort === 'string' ? p.targetPort : undefined;
}

/**
 * The numeric targetPort as istiod reads it (`TargetPort.IntVal`): 0 for a named port. An absent
 * targetPort is the service port, the API server's default (manifests are not defaulted).
 */
export function numericTargetPort(p: ServicePort): number {
  const t = p.targetPort;
  if (t === undefined) return p.port;
  return typeof t === 'number' ? t : 0;
}

function isNamed(p: ServicePort): boolean {
  return typeof p.targetPort === 'string';
}

/** Service.ports: every port (istiod's constructService keeps all protocols), named ⇒ 0. */
export function servicePortMap(svc: KubeObject<'Service'>): PortMap {
  const out = new Map<number, number>();
  for (const p of svc.spec?.ports ?? []) out.set(p.port, isNamed(p) ? 0 : numericTargetPort(p));
  return out;
}

/**
 * A container port of the pod by name, TCP only (istiod helpers.go FindPortName; protocol
 * defaults to TCP as the API server defaults it). Only `spec.containers`, as istiod.
 */
export function findPodPort(pod: KubeObject<'Pod'>, name: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const port of c.ports ?? []) {
      if (port.name === name && (port.protocol ?? 'TCP') === 'TCP') return port.containerPort;
    }
  }
  return undefined;
}

/**
 * The pod's port map for one Service it backs (istiod workloads.go constructServices): a named
 * targetPort becomes the pod's container port of that name; a port the pod does not name is
 * left out of this endpoint entirely (the agent then skips the endpoint for that service port).
 */
export function endpointPortMap(svc: KubeObject<'Service'>, pod: KubeObject<'Pod'>): PortMap {
  const out = new Map<number, number>();
  for (const p of svc.spec?.ports ?? []) {
    if (isNamed(p)) {
      const resolved = findPodPort(pod, targetPortName(p) ?? '');
      if (resolved !== undefined) out.set(p.port, resolved);
    } else {
      out.set(p.port, numericTargetPort(p));
    }
  }
  return out;
}
