// A route rule's action from its backendRefs and filters: forward to weighted clusters (invalid
// backends keep their share and answer 500), redirect, or a direct 500 when there is nothing to do.
//
// Gateway API §HTTPBackendRef: weight default 1, share = weight/sum; a rule without backendRefs and
// without a response-producing filter answers 500, as Istio does also when all weights are 0.

import type { Cluster, RouteAction, WeightedCluster } from '../../waypoint/model/route-model.js';
import { resolveBackendRef, type BackendRefView } from './backend-refs.js';
import type { RouteContext } from './route-context.js';
import { compileFilters, type CompiledFilters, type FilterOptions, type FilterView } from './route-filters.js';

export interface RouteBackendView extends BackendRefView {
  readonly filters?: readonly FilterView[];
}

/** Status answered for an invalid backend's share and for a rule with nothing to forward to. */
export const INVALID_BACKEND_STATUS = 500;

/**
 * The action of a rule at `at` (`spec.rules[i]`). undefined: the rule is dropped (reported).
 * `backendFilters`: what filters a backendRef of this route kind may carry.
 */
export function compileAction(
  backends: readonly RouteBackendView[],
  filters: CompiledFilters,
  at: string,
  ctx: RouteContext,
  backendFilters: FilterOptions,
  clusters: Map<string, Cluster>,
): RouteAction | undefined {
  if (filters.redirect) {
    if (backends.length > 0) {
      ctx.problems.error(ctx.object, `${at}.backendRefs`, 'UnsupportedValue: RequestRedirect cannot be combined with backendRefs; rule dropped');
      return undefined;
    }
    return { kind: 'redirect', redirect: filters.redirect };
  }
  if (filters.extensionRef) return { kind: 'direct', status: INVALID_BACKEND_STATUS };
  const out: WeightedCluster[] = [];
  for (const [i, b] of backends.entries()) {
    const here = `${at}.backendRefs[${i}]`;
    const weight = b.weight ?? 1;
    const own = compileFilters(b.filters ?? [], `${here}.filters`, ctx, backendFilters, clusters);
    if (own === undefined) return undefined;
    const resolved = resolveBackendRef(b, ctx.namespace, ctx.snapshot, ctx.options);
    if (!resolved.ok) {
      ctx.problems.error(ctx.object, here, `${resolved.reason}: ${resolved.message}; its share is answered ${INVALID_BACKEND_STATUS}`);
      out.push({ weight, invalidReason: resolved.reason, invalidStatus: INVALID_BACKEND_STATUS });
      continue;
    }
    clusters.set(resolved.cluster.name, resolved.cluster);
    out.push({
      cluster: resolved.cluster.name,
      weight,
      ...(own.requestHeaders ? { requestHeaders: own.requestHeaders } : {}),
      ...(own.responseHeaders ? { responseHeaders: own.responseHeaders } : {}),
      ...(own.rewrite ? { rewrite: own.rewrite } : {}),
    });
  }
  if (out.reduce((s, b) => s + b.weight, 0) === 0) return { kind: 'direct', status: INVALID_BACKEND_STATUS };
  return { kind: 'forward', backends: out };
}
