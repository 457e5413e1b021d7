// VirtualService destinations (Destination: host, subset, port) → waypoint clusters, weighted
// route destinations and mirrors, as istiod builds them for a waypoint
// (listener_waypoint.go waypointRouteDestination, getWaypointDestinationCluster).
//
// Host: a short name resolves in the VirtualService's namespace; it must be a Service of the
// snapshot or a ServiceEntry host (no subsets there; other external hosts are not supported). Port: `port.number`, else the
// Service's only port, else the port being served. Subset: defined by the host's DestinationRule;
// its cluster `outbound|<port>|<subset>|<host>` holds the endpoints carrying the subset labels.
// An unresolvable destination keeps its weighted share and answers 500, as an invalid backendRef.

import { clusterName, type Cluster, type Mirror, type WeightedCluster } from '../../waypoint/model/route-model.js';
import { serviceCluster } from './backend-refs.js';
import { servedCluster } from './served-service-entries.js';
import { resolveHost } from './istio-hosts.js';
import { INVALID_BACKEND_STATUS } from './route-action.js';
import type { ServedService } from './route-attachment.js';
import type { VsContext } from './virtual-service-context.js';
import { compileIstioHeaders, type IstioHeadersView } from './virtual-service-filters.js';

export interface DestinationView {
  readonly host?: string;
  readonly subset?: string;
  readonly port?: { readonly number?: number };
}

export interface RouteDestinationView {
  readonly destination?: DestinationView;
  readonly weight?: number;
  readonly headers?: IstioHeadersView;
}

export type ResolvedDestination =
  | { readonly ok: true; readonly cluster: Cluster }
  | { readonly ok: false; readonly reason: 'BackendNotFound' | 'SubsetNotFound'; readonly field: string; readonly message: string };

/** Resolves the Destination at field path `at`. */
export function resolveDestination(d: DestinationView | undefined, at: string, ctx: VsContext): ResolvedDestination {
  if (!d?.host) return { ok: false, reason: 'BackendNotFound', field: `${at}.host`, message: 'destination host is required' };
  const host = resolveHost(d.host, ctx.namespace, ctx.options.domainSuffix);
  const svc = ctx.services.get(host);
  if (svc === undefined) {
    const entry = ctx.entryHosts?.get(host, ctx.namespace);
    if (entry !== undefined) return entryDestination(d, at, host, entry, ctx);
    return { ok: false, reason: 'BackendNotFound', field: `${at}.host`, message: `destination host ${host} is not a Service of this cluster (ServiceEntry and external hosts are not supported)` };
  }
  const ports = svc.spec?.ports ?? [];
  const port = d.port?.number ?? (ports.length === 1 ? ports[0]!.port : ctx.listenPort);
  const cluster = serviceCluster(svc, port, ctx.options);
  if (cluster === undefined) {
    const why = d.port?.number !== undefined ? `has no port ${port}` : `has no port ${port} (the port served; set destination.port.number)`;
    return { ok: false, reason: 'BackendNotFound', field: d.port?.number !== undefined ? `${at}.port.number` : `${at}.port`, message: `destination ${host} ${why}` };
  }
  if (!d.subset) return { ok: true, cluster };
  const rule = ctx.destinationRules.forHost(host, cluster.namespace);
  const subset = rule?.subsets.get(d.subset);
  if (subset === undefined) {
    return { ok: false, reason: 'SubsetNotFound', field: `${at}.subset`, message: `subset "${d.subset}" is not defined by a DestinationRule for host ${host} visible to this waypoint` };
  }
  return {
    ok: true,
    cluster: {
      ...cluster,
      name: clusterName(host, port, d.subset),
      subset: d.subset,
      workloadUids: ctx.endpoints.subsetUids(cluster.namespace, host, subset.labels),
    },
  };
}

/** A destination naming a ServiceEntry host: its cluster for the port (subsets are not supported there). */
function entryDestination(d: DestinationView, at: string, host: string, entry: ServedService, ctx: VsContext): ResolvedDestination {
  const port = d.port?.number ?? (entry.ports.length === 1 ? entry.ports[0]!.port : ctx.listenPort);
  const cluster = servedCluster(entry, port, ctx.options);
  if (cluster === undefined) {
    return { ok: false, reason: 'BackendNotFound', field: d.port?.number !== undefined ? `${at}.port.number` : `${at}.port`, message: `destination ${host} (ServiceEntry ${entry.namespace}/${entry.name}) has no port ${port}` };
  }
  if (d.subset) {
    return { ok: false, reason: 'SubsetNotFound', field: `${at}.subset`, message: `subsets of ServiceEntry host ${host} are not supported` };
  }
  return { ok: true, cluster };
}

/**
 * `route[]` of `spec.http[i]` (at `at`) → weighted clusters. istiod: a lone destination takes all
 * traffic whatever its weight; with several, weight-0 ones are left out and the weights are
 * relative (share = weight / sum). undefined when the rule must be dropped (reported): several
 * destinations whose weights sum to 0 (istiod validation: "total destination weight = 0").
 */
export function compileRouteDestinations(list: readonly RouteDestinationView[], at: string, ctx: VsContext, clusters: Map<string, Cluster>, tcp = false): WeightedCluster[] | undefined {
  if (list.length > 1 && list.reduce((s, d) => s + (d.weight ?? 0), 0) === 0) {
    ctx.problems.error(ctx.object, at, 'total destination weight = 0 (set weights when there are several destinations); rule dropped');
    return undefined;
  }
  const out: WeightedCluster[] = [];
  for (const [i, d] of list.entries()) {
    const here = `${at}[${i}]`;
    const weight = list.length === 1 ? 100 : (d.weight ?? 0);
    if (weight === 0) continue;
    const resolved = resolveDestination(d.destination, `${here}.destination`, ctx);
    if (!resolved.ok) {
      const share = tcp ? 'its share of connections is refused' : `its share is answered ${INVALID_BACKEND_STATUS}`;
      ctx.problems.error(ctx.object, resolved.field, `${resolved.reason}: ${resolved.message}; ${share}`);
      out.push({ weight, invalidReason: resolved.reason, ...(tcp ? {} : { invalidStatus: INVALID_BACKEND_STATUS }) });
      continue;
    }
    clusters.set(resolved.cluster.name, resolved.cluster);
    const headers = d.headers ? compileIstioHeaders(d.headers) : undefined;
    out.push({
      cluster: resolved.cluster.name,
      weight,
      ...(headers?.request ? { requestHeaders: headers.request } : {}),
      ...(headers?.response ? { responseHeaders: headers.response } : {}),
      ...(headers?.authority !== undefined ? { rewrite: { hostname: headers.authority } } : {}),
    });
  }
  return out;
}

export interface MirrorViews {
  readonly mirror?: DestinationView;
  readonly mirrorPercentage?: { readonly value?: number };
  /** Deprecated integer percent. */
  readonly mirrorPercent?: number;
  readonly mirrors?: readonly { readonly destination?: DestinationView; readonly percentage?: { readonly value?: number } }[];
}

/**
 * `mirror` (+ `mirrorPercentage`, or the deprecated `mirrorPercent`) and `mirrors[]`: percentage
 * absent ⇒ 100 % (istiod MirrorPercent). An unresolvable mirror is left out (reported); the rule serves.
 */
export function compileMirrors(r: MirrorViews, at: string, ctx: VsContext, clusters: Map<string, Cluster>): Mirror[] {
  const out: Mirror[] = [];
  const add = (d: DestinationView | undefined, percent: number | undefined, here: string): void => {
    const resolved = resolveDestination(d, here, ctx);
    if (!resolved.ok) {
      ctx.problems.error(ctx.object, resolved.field, `${resolved.reason}: ${resolved.message}; mirror not configured`);
      return;
    }
    clusters.set(resolved.cluster.name, resolved.cluster);
    out.push({ cluster: resolved.cluster.name, percent: Math.min(100, Math.max(0, percent ?? 100)) });
  };
  if (r.mirror !== undefined) add(r.mirror, r.mirrorPercentage?.value ?? r.mirrorPercent, `${at}.mirror`);
  for (const [i, m] of (r.mirrors ?? []).entries()) add(m.destination, m.percentage?.value, `${at}.mirrors[${i}].destination`);
  return out;
}

