// The request metrics series of a finished request, cached by what its labels derive from, so a
// request on a known (source, principal, upstream, service, result) path builds no labels and no key.

import type { ConnectionLabels } from '../../metrics/index.js';
import type { Service, Workload } from '../../state/index.js';
import { requestLabels, spiffeUri, waypointTrafficLabels, type WaypointSelf } from './request-labels.js';
import type { RequestMetrics, RequestSeries } from './request-metrics.js';

/*
 * Why: the 29 label values of a request are a pure function of the source and upstream workloads,
 * the two principals, the service addressed (or the Host header when none), and the result
 * (protocol, status, gRPC status, flags). Building them, spreading them into one object and
 * encoding the series key cost most of the waypoint's telemetry time per request (~5 µs), for a
 * handful of distinct sets.
 *
 * Invalidation: the workload and service levels are WeakMaps keyed by the objects themselves.
 * ProxyState.apply swaps in new snapshots and never mutates a Workload or Service (their fields are
 * readonly), so a mesh-state change that alters a workload's labels gives a new object, hence a new
 * entry, and the old object's entries go with it when it is collected. Principals, Host and result
 * are string/number keys under those.
 *
 * Bound: every string/number level holds at most MAX_KEYS entries; past that, a request computes
 * its series uncached (same result, no growth). Host is the one client-controlled key (only when
 * the service is unknown) and the series it names already exist in the metrics anyway.
 */
const MAX_KEYS = 256;

/** WeakMap key for "no workload" / "no service". */
const NONE: object = Object.freeze({});

/** One (source, principals, upstream, service/Host) path: its traffic labels and series by result. */
interface PathEntry {
  readonly traffic: ConnectionLabels;
  /** flags → status → series; for gRPC the flags key is `grpc|<grpc status>|<flags>`. */
  readonly results: Map<string, Map<number, RequestSeries>>;
}

type Level<T> = Map<string, T>;

export interface SeriesKeyInput {
  readonly source?: Workload;
  readonly sourcePrincipal?: string;
  readonly destination?: Workload;
  /** The upstream identity as the peer gave it (with or without `spiffe://`). */
  readonly destinationIdentity?: string;
  readonly destinationService?: Service;
  readonly authority: string;
  readonly protocol: 'http' | 'grpc';
  readonly status: number;
  readonly grpcStatus?: number;
  /** Envoy response flags as given ('' and '-' both mean none). */
  readonly flags: string;
}

export class RequestSeriesCache {
  // source → upstream → service → source principal → upstream principal → Host → path entry.
  private readonly root = new WeakMap<object, WeakMap<object, WeakMap<object, Level<Level<Level<PathEntry>>>>>>();

  constructor(
    private readonly waypoint: WaypointSelf,
    private readonly metrics: RequestMetrics,
  ) {}

  /** The series `input` records into (created in the metrics on first use). */
  seriesOf(input: SeriesKeyInput): RequestSeries {
    const path = this.path(input);
    const grpc = input.protocol === 'grpc';
    const rkey = grpc ? `grpc|${input.grpcStatus ?? ''}|${input.flags}` : input.flags;
    let byStatus = path.results.get(rkey);
    if (byStatus === undefined) {
      if (path.results.size >= MAX_KEYS) return this.uncached(path.traffic, input);
      byStatus = new Map();
      path.results.set(rkey, byStatus);
    }
    let series = byStatus.get(input.status);
    if (series === undefined) {
      series = this.uncached(path.traffic, input);
      if (byStatus.size < MAX_KEYS) byStatus.set(input.status, series);
    }
    return series;
  }

  private uncached(traffic: ConnectionLabels, input: SeriesKeyInput): RequestSeries {
    return this.metrics.seriesFor(requestLabels(traffic, { protocol: input.protocol, status: input.status, grpcStatus: input.grpcStatus, flags: input.flags }));
  }

  private path(input: SeriesKeyInput): PathEntry {
    const svc = input.destinationService;
    let byUpstream = this.root.get(input.source ?? NONE);
    if (byUpstream === undefined) this.root.set(input.source ?? NONE, (byUpstream = new WeakMap()));
    let byService = byUpstream.get(input.destination ?? NONE);
    if (byService === undefined) byUpstream.set(input.destination ?? NONE, (byService = new WeakMap()));
    let bySrcPrincipal = byService.get(svc ?? NONE);
    if (bySrcPrincipal === undefined) byService.set(svc ?? NONE, (bySrcPrincipal = new Map()));
    // '' and undefined label alike (unknown / the workload's own identity), so they share a key.
    const byDstPrincipal = child(bySrcPrincipal, input.sourcePrincipal ?? '');
    const byHost = byDstPrincipal && child(byDstPrincipal, input.destinationIdentity ?? '');
    // The Host only labels requests to an unknown service.
    const host = svc === undefined ? input.authority : '';
    let entry = byHost?.get(host);
    if (entry === undefined) {
      entry = { traffic: this.traffic(input), results: new Map() };
      if (byHost !== undefined && byHost.size < MAX_KEYS) byHost.set(host, entry);
    }
    return entry;
  }

  private traffic(input: SeriesKeyInput): ConnectionLabels {
    return waypointTrafficLabels({
      waypoint: this.waypoint,
      source: input.source,
      sourcePrincipal: input.sourcePrincipal,
      destination: input.destination,
      destinationPrincipal: spiffeUri(input.destinationIdentity),
      destinationService: input.destinationService,
      authority: input.authority,
    });
  }
}

/** The map under `key`, created if there is room; undefined when the level is full. */
function child<T>(level: Level<Level<T>>, key: string): Level<T> | undefined {
  let next = level.get(key);
  if (next === undefined && level.size < MAX_KEYS) level.set(key, (next = new Map()));
  return next;
}
