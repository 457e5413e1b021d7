// One TCPRoute (gateway.networking.k8s.io/v1alpha2) → the weighted TCP backends of a service port.
// TCPRoute has no matches: one rule's backendRefs take the whole port (Istio uses the first rule).

import type { KubeObject } from '../../k8s/index.js';
import type { Cluster, WeightedCluster } from '../../waypoint/model/route-model.js';
import { resolveBackendRef, type BackendRefView } from './backend-refs.js';
import type { RouteContext } from './route-context.js';

export interface CompiledTcpRoute {
  readonly backends: readonly WeightedCluster[];
  readonly clusters: readonly Cluster[];
}

export function compileTcpRoute(route: KubeObject<'TCPRoute'>, ctx: RouteContext): CompiledTcpRoute {
  const rules = (route.spec as { rules?: readonly { backendRefs?: readonly BackendRefView[] }[] } | undefined)?.rules ?? [];
  if (rules.length > 1) ctx.problems.warning(ctx.object, 'spec.rules', `only the first of ${rules.length} rules is used (a TCPRoute cannot tell connections apart)`);
  const backends: WeightedCluster[] = [];
  const clusters: Cluster[] = [];
  for (const [i, b] of (rules[0]?.backendRefs ?? []).entries()) {
    const weight = b.weight ?? 1;
    const resolved = resolveBackendRef(b, ctx.namespace, ctx.snapshot, ctx.options);
    if (!resolved.ok) {
      ctx.problems.error(ctx.object, `spec.rules[0].backendRefs[${i}]`, `${resolved.reason}: ${resolved.message}; its share of connections is refused`);
      backends.push({ weight, invalidReason: resolved.reason });
      continue;
    }
    clusters.push(resolved.cluster);
    backends.push({ cluster: resolved.cluster.name, weight });
  }
  return { backends, clusters };
}
