// The waypoint's request telemetry: one begin() per request (ids and trace headers for the next
// hop), one end() (Istio request metrics with reporter="waypoint" and the access log line).

import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.js';
import { formatAuthority } from '../../hbone/index.js';
import { TrafficMetrics } from '../../metrics/index.js';
import type { Service, Workload } from '../../state/index.js';
import { elapsedMs, RequestMetrics } from './request-metrics.js';
import { spiffeUri, type WaypointSelf } from './request-labels.js';
import { RequestSeriesCache } from './request-series-cache.js';
import { TcpRelayRecord, type TcpRelay, type TcpRelayStart } from './tcp-relay-record.js';
import { propagateTraceContext, RANDOM_IDS, type TraceContext, type TraceIdSource } from './trace-context.js';

export interface WaypointPeer {
  /** SPIFFE principal without spiffe:// (a `spiffe://` prefix is tolerated), or undefined. */
  principal?: string;
  workload?: Workload;
}

export interface RequestStart {
  /** request_protocol label ("http" / "grpc"). */
  readonly protocol: 'http' | 'grpc';
  readonly method: string;
  readonly path: string;
  /** Host / :authority as received. */
  readonly authority: string;
  readonly source: { readonly ip: string; readonly port: number; readonly identity?: string; readonly workload?: Workload };
  /** The service addressed (from the CONNECT authority). */
  readonly destinationService?: Service;
  /** Lower-case names; read for x-request-id, trace headers, user-agent; begin() rewrites the trace ones. */
  readonly headers: Map<string, string[]>;
  /** process.hrtime.bigint() when the request head was read. */
  readonly startedAt: bigint;
}

export interface RequestEnd {
  /** HTTP status sent to the client (0 if none was sent). */
  readonly status: number;
  /** grpc-status trailer when gRPC. */
  readonly grpcStatus?: number;
  /** Envoy response flags, '-' when none (see RESPONSE_FLAGS, joinResponseFlags). */
  readonly flags: string;
  /** Route.name. */
  readonly route?: string;
  /** Cluster name. */
  readonly cluster?: string;
  /** The endpoint that answered (the last attempt's). */
  readonly upstream?: { readonly ip: string; readonly port: number; readonly workload?: Workload; readonly identity?: string };
  /** Bytes received from / sent to the client for this request (Envoy's downstream wire bytes meter). */
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** Upstream attempts (retries + 1). */
  readonly attempts?: number;
  readonly error?: Error;
}

/** Extra access-log fields a filter sets on its way (L7 security: details, audit, JWT principal, dry-run). */
export interface RequestNotes {
  /** Envoy's response_code_details, e.g. `rbac_access_denied_matched_policy[none]`. */
  readonly responseCodeDetails?: string;
  /** The AUDIT AuthorizationPolicy (`namespace/name`) that matched. */
  readonly auditPolicy?: string;
  /** `<iss>/<sub>` of the verified JWT. */
  readonly requestPrincipal?: string;
  /** What the dry-run policies alone decided: `allowed` or `denied[<policy>]`. */
  readonly dryRunResult?: string;
}

export interface RequestSpan {
  readonly requestId: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Adds access-log fields (later notes override earlier ones); ignored after end(). */
  note(notes: RequestNotes): void;
  /** Records the request's metrics and access log line. The first call counts; later calls do nothing. */
  end(result: RequestEnd): void;
}

export interface WaypointTelemetryOptions {
  readonly registry: Registry;
  /** The access log target (e.g. targetLogger(root, 'access')); request lines are `info`. */
  readonly logger: Logger;
  readonly waypoint: WaypointSelf;
  /** Access log lines on (default) or off; metrics are always recorded. */
  readonly accessLog?: boolean;
  /**
   * The istio_tcp_* families, when something already registered them on `registry` (a registry
   * holds one TrafficMetrics); by default the telemetry creates its own.
   */
  readonly tcpMetrics?: TrafficMetrics;
  /** Id source (tests); default CSPRNG ids and UUID v4 request ids. */
  readonly ids?: TraceIdSource;
  /** Monotonic clock in ns (tests); default process.hrtime.bigint. */
  readonly now?: () => bigint;
}

function firstHeader(headers: Map<string, string[]>, name: string): string | undefined {
  return headers.get(name)?.[0];
}

class Span implements RequestSpan {
  private done = false;
  private notes: RequestNotes | undefined;

  constructor(
    private readonly owner: WaypointTelemetry,
    private readonly start: RequestStart,
    private readonly trace: TraceContext,
  ) {}

  get requestId(): string {
    return this.trace.requestId;
  }

  get traceId(): string {
    return this.trace.traceId;
  }

  get spanId(): string {
    return this.trace.spanId;
  }

  note(notes: RequestNotes): void {
    if (!this.done) this.notes = { ...this.notes, ...notes };
  }

  end(result: RequestEnd): void {
    if (this.done) return;
    this.done = true;
    this.owner.finish(this.start, this.trace, result, this.notes);
  }
}

/**
 * Request and TCP-relay telemetry of one waypoint, on its own registry. Holds no timers or
 * sockets, so it has no start/close lifecycle: it lives as long as the registry it writes to.
 */
export class WaypointTelemetry {
  private readonly metrics: RequestMetrics;
  private readonly seriesCache: RequestSeriesCache;
  private readonly tcpMetrics: TrafficMetrics;
  private readonly logger: Logger;
  private readonly waypoint: WaypointSelf;
  private readonly accessLog: boolean;
  private readonly ids: TraceIdSource;
  private readonly now: () => bigint;

  constructor(options: WaypointTelemetryOptions) {
    this.metrics = new RequestMetrics(options.registry);
    this.seriesCache = new RequestSeriesCache(options.waypoint, this.metrics);
    this.tcpMetrics = options.tcpMetrics ?? new TrafficMetrics(options.registry);
    this.logger = options.logger;
    this.waypoint = options.waypoint;
    this.accessLog = options.accessLog ?? true;
    this.ids = options.ids ?? RANDOM_IDS;
    this.now = options.now ?? process.hrtime.bigint;
  }

  /**
   * Called when the request head has been read. Sets x-request-id when absent and rewrites the
   * trace headers for the next hop (mutates `start.headers`; see propagateTraceContext).
   */
  begin(start: RequestStart): RequestSpan {
    return new Span(this, start, propagateTraceContext(start.headers, this.ids));
  }

  /** TCP relays through the waypoint (ports declared TCP): istio_tcp_* with reporter="waypoint". */
  tcp(start: TcpRelayStart): TcpRelay {
    return new TcpRelayRecord({ start, waypoint: this.waypoint, metrics: this.tcpMetrics, logger: this.logger, accessLog: this.accessLog, now: this.now });
  }

  /** Distinct request label sets recorded so far. */
  get requestSeries(): number {
    return this.metrics.seriesCount;
  }

  /** @internal Span.end, exactly once per request. */
  finish(start: RequestStart, trace: TraceContext, result: RequestEnd, notes?: RequestNotes): void {
    const durationMs = elapsedMs(start.startedAt, this.now());
    const up = result.upstream;
    const series = this.seriesCache.seriesOf({
      source: start.source.workload,
      sourcePrincipal: start.source.identity,
      destination: up?.workload,
      destinationIdentity: up?.identity,
      destinationService: start.destinationService,
      authority: start.authority,
      protocol: start.protocol,
      status: result.status,
      grpcStatus: result.grpcStatus,
      flags: result.flags,
    });
    this.metrics.observe(series, durationMs, result.requestBytes, result.responseBytes);
    // Off the hot path when unwanted: no object is built unless the line will be written.
    if (this.accessLog && this.logger.isLevelEnabled('info')) this.logRequest(start, trace, result, series.labels.response_flags!, durationMs, notes);
  }

  private logRequest(start: RequestStart, trace: TraceContext, result: RequestEnd, flags: string, durationMs: number, notes: RequestNotes | undefined): void {
    const src = start.source;
    const up = result.upstream;
    const svc = start.destinationService;
    // Field names: the agent's dotted src./dst. fields (src/proxy/connection-record.ts) for the
    // peers, Envoy's access-log names for the request (Istio's JSON access log format).
    this.logger.info(
      {
        'src.addr': formatAuthority(src.ip, src.port),
        'src.workload': src.workload?.name,
        'src.namespace': src.workload?.namespace,
        'src.identity': spiffeUri(src.identity),
        'dst.addr': up === undefined ? undefined : formatAuthority(up.ip, up.port),
        'dst.service': svc?.hostname,
        'dst.workload': up?.workload?.name,
        'dst.namespace': up?.workload?.namespace,
        'dst.identity': spiffeUri(up?.identity),
        method: start.method,
        path: start.path,
        protocol: start.protocol,
        authority: start.authority,
        response_code: result.status,
        grpc_status: result.grpcStatus,
        response_flags: flags,
        route_name: result.route,
        upstream_cluster: result.cluster,
        attempts: result.attempts,
        request_id: trace.requestId,
        trace_id: trace.traceId,
        span_id: trace.spanId,
        user_agent: firstHeader(start.headers, 'user-agent'),
        // The waypoint's view, as the agent's access log: sent = to the client.
        bytes_recv: result.requestBytes,
        bytes_sent: result.responseBytes,
        duration: `${durationMs}ms`,
        error: result.error?.message,
        response_code_details: notes?.responseCodeDetails,
        audit_policy: notes?.auditPolicy,
        request_principal: notes?.requestPrincipal,
        dry_run_result: notes?.dryRunResult,
      },
      'request complete',
    );
  }
}
