// The routing half of a request, shared by plain requests and Upgrade requests: route selection,
// CORS preflight, fault, request filters, rewrite, redirect/direct answers and the weighted backend choice
// (Gateway API HTTPRoute filter order; Envoy router for faults and weighted clusters).

import type { Cluster, Route, WeightedCluster } from './model/route-model.js';
import type { CompiledPort } from './compiled-config.js';
import { corsPreflight } from './cors.js';
import { addResponseFlags } from './telemetry/index.js';
import { applyHeaderMutation, chance, headerValue, pickWeighted, redirectLocation, rewritePath, type HeaderMap, type RequestView } from './routing/index.js';

export interface MutableRequest {
  method: string;
  path: string;
  query: string;
  headers: HeaderMap;
}

/**
 * `delayed`: the route's fault delay was injected (Envoy's fault filter then marks the stream
 * DelayInjected, flag `DI`, whatever answers it afterwards).
 */
export type Decision =
  | { readonly kind: 'local'; readonly status: number; readonly flags: string; readonly body?: string; readonly headers?: Record<string, string>; readonly route?: Route; readonly grpcStatus?: number; readonly delayed?: boolean }
  | { readonly kind: 'forward'; readonly cluster: Cluster; readonly backend: WeightedCluster | undefined; readonly route: Route | undefined; readonly delayed?: boolean };

export interface DecisionInputs {
  readonly port: CompiledPort;
  readonly clusters: ReadonlyMap<string, Cluster>;
  /** The Service port the client dialled (redirect default port). */
  readonly servicePort: number;
  readonly random: () => number;
  /** Waits for an injected delay (aborts early when the client goes away). */
  readonly delay: (ms: number) => Promise<void>;
  /**
   * Pod-addressed traffic (the CONNECT authority was this workload's IP, not a VIP): no routing,
   * the port's default cluster narrowed to the workload — Istio forwards pod-addressed traffic to
   * that pod after policy, without routing.
   */
  readonly pinnedWorkloadUid?: string;
}

/** The port's default cluster, narrowed to one workload when the traffic was addressed to it. */
function defaultDecision(inputs: DecisionInputs): Decision {
  const name = inputs.port.port.defaultCluster;
  const cluster = inputs.clusters.get(name);
  if (!cluster) return { kind: 'local', status: 503, flags: 'NC', body: `cluster ${name} not found` };
  const pinned = inputs.pinnedWorkloadUid;
  return { kind: 'forward', cluster: pinned === undefined ? cluster : { ...cluster, workloadUids: [pinned] }, backend: undefined, route: undefined };
}

/** Applies a URLRewrite to the request in place. */
function rewrite(req: MutableRequest, rw: Route['rewrite']): void {
  if (!rw) return;
  if (rw.hostname !== undefined) req.headers.set('host', [rw.hostname]);
  if (rw.path) req.path = rewritePath(req.path, rw.path);
}

/**
 * Runs routing and request filters on `req` (mutated: headers, path) and says what to do with it.
 * No route on the port ⇒ the default cluster; routes but none matching ⇒ 404 NR; pod-addressed
 * ⇒ that pod (no routes).
 */
export async function decide(inputs: DecisionInputs, req: MutableRequest): Promise<Decision> {
  const { port } = inputs;
  if (inputs.pinnedWorkloadUid !== undefined) return defaultDecision(inputs);
  const view: RequestView = req;
  let route: Route | undefined;
  if (port.routes.size > 0) {
    route = port.routes.select(view);
    if (!route) return { kind: 'local', status: 404, flags: 'NR', body: 'route not found' };
    // Envoy's CORS filter runs before the fault filter: a preflight never sees a fault.
    const preflight = corsPreflight(route.cors, req.method, req.headers);
    if (preflight) return { kind: 'local', status: 200, flags: '-', headers: preflight, route };
  }
  if (!route) return defaultDecision(inputs);
  const delay = route.fault?.delay;
  // Envoy's fault filter sets DelayInjected as it starts the delay (fault_filter.cc maybeSetupDelay).
  if (delay && chance(delay.percent, inputs.random)) {
    await inputs.delay(delay.ms);
    const d = afterDelay(inputs, req, route);
    return d.kind === 'local' ? { ...d, flags: addResponseFlags(d.flags, ['DI']), delayed: true } : { ...d, delayed: true };
  }
  return afterDelay(inputs, req, route);
}

/** The rest of the route's work once any fault delay is over: abort, filters, the action. */
function afterDelay(inputs: DecisionInputs, req: MutableRequest, route: Route): Decision {
  const fault = route.fault;
  if (fault?.abort && chance(fault.abort.percent, inputs.random)) {
    const status = fault.abort.httpStatus ?? (fault.abort.grpcStatus !== undefined ? 200 : 503);
    return { kind: 'local', status, flags: 'FI', body: 'fault filter abort', route, grpcStatus: fault.abort.grpcStatus };
  }
  applyHeaderMutation(req.headers, route.requestHeaders);
  const action = route.action;
  if (action.kind === 'redirect') {
    const location = redirectLocation(
      { scheme: 'http', host: headerValue(req.headers, 'host') ?? '', path: req.path, query: req.query, servicePort: inputs.servicePort },
      action.redirect,
    );
    return { kind: 'local', status: action.redirect.statusCode, flags: '-', headers: { location }, route };
  }
  rewrite(req, route.rewrite);
  if (action.kind === 'direct') return { kind: 'local', status: action.status, flags: '-', body: action.body, route };
  const backend = pickWeighted(action.backends, inputs.random);
  // No backend at all, or a zero weight sum: 500 (Gateway API HTTPRouteNoBackendRefs, Istio).
  if (!backend) return { kind: 'local', status: 500, flags: 'NR', body: 'no backend', route };
  if (backend.cluster === undefined) {
    return { kind: 'local', status: backend.invalidStatus ?? 500, flags: 'NR', body: `invalid backend: ${backend.invalidReason ?? 'unresolved'}`, route };
  }
  const cluster = inputs.clusters.get(backend.cluster);
  if (!cluster) return { kind: 'local', status: 500, flags: 'NC', body: `cluster ${backend.cluster} not found`, route };
  applyHeaderMutation(req.headers, backend.requestHeaders);
  rewrite(req, backend.rewrite);
  return { kind: 'forward', cluster, backend, route };
}
