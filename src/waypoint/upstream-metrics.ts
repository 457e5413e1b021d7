// The waypoint's upstream-policy metrics, Envoy's cluster stats under Ambit names: circuit-breaker
// overflows and remaining capacity, outlier ejections, upstream connections.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { BreakerResource } from './circuit-breaker.js';
import type { EjectionType } from './outlier-detector.js';
import type { CloseReason } from './upstream-pool.js';

/** What the gauges read at scrape time, per configured cluster. */
export interface UpstreamGaugeSource {
  clusters(): Iterable<{
    readonly cluster: string;
    readonly remaining: Readonly<Record<BreakerResource, number>>;
    readonly ejectionsActive: number | undefined;
    readonly connections: number;
  }>;
}

export class UpstreamMetrics {
  private readonly overflows: Counter<'cluster' | 'kind'>;
  private readonly ejections: Counter<'cluster' | 'type'>;
  private readonly ejectionOverflows: Counter<'cluster'>;
  private readonly opened: Counter<'cluster'>;
  private readonly connectFailures: Counter<'cluster'>;
  private readonly closedTotal: Counter<'cluster' | 'reason'>;

  constructor(registry: Registry, source: UpstreamGaugeSource) {
    this.overflows = new Counter({
      name: 'ambit_waypoint_upstream_overflow_total',
      help: 'Circuit-breaker overflows per cluster: kind connections (a connection not made, the request queued; Envoy upstream_cx_overflow), pending (upstream_rq_pending_overflow), requests (503 UO), retries (upstream_rq_retry_overflow)',
      labelNames: ['cluster', 'kind'] as const,
      registers: [registry],
    });
    this.ejections = new Counter({
      name: 'ambit_waypoint_outlier_ejections_total',
      help: 'Endpoints ejected by outlier detection (Envoy outlier_detection.ejections_enforced_*)',
      labelNames: ['cluster', 'type'] as const,
      registers: [registry],
    });
    this.ejectionOverflows = new Counter({
      name: 'ambit_waypoint_outlier_ejections_overflow_total',
      help: 'Ejections not done because maxEjectionPercent was reached (Envoy outlier_detection.ejections_overflow)',
      labelNames: ['cluster'] as const,
      registers: [registry],
    });
    this.opened = new Counter({
      name: 'ambit_waypoint_upstream_connections_opened_total',
      help: 'Upstream HTTP connections opened (Envoy upstream_cx_total)',
      labelNames: ['cluster'] as const,
      registers: [registry],
    });
    this.connectFailures = new Counter({
      name: 'ambit_waypoint_upstream_connect_failures_total',
      help: 'Upstream HTTP connections that failed to connect (Envoy upstream_cx_connect_fail)',
      labelNames: ['cluster'] as const,
      registers: [registry],
    });
    this.closedTotal = new Counter({
      name: 'ambit_waypoint_upstream_connections_closed_total',
      help: 'Upstream HTTP connections closed, by reason: idle_timeout, max_requests (maxRequestsPerConnection), drained (endpoint or cluster gone), remote, destroyed',
      labelNames: ['cluster', 'reason'] as const,
      registers: [registry],
    });
    new Gauge({
      name: 'ambit_waypoint_circuit_breaker_remaining',
      help: 'Remaining capacity of a cluster circuit breaker (Envoy circuit_breakers.default.remaining_cx/_pending/_rq/_retries)',
      labelNames: ['cluster', 'resource'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of source.clusters()) for (const [r, v] of Object.entries(c.remaining)) this.set({ cluster: c.cluster, resource: r }, v);
      },
    });
    new Gauge({
      name: 'ambit_waypoint_outlier_ejections_active',
      help: 'Endpoints currently ejected by outlier detection (Envoy outlier_detection.ejections_active)',
      labelNames: ['cluster'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of source.clusters()) if (c.ejectionsActive !== undefined) this.set({ cluster: c.cluster }, c.ejectionsActive);
      },
    });
    new Gauge({
      name: 'ambit_waypoint_upstream_connections_active',
      help: 'Open upstream HTTP connections per cluster, connecting ones included (Envoy upstream_cx_active)',
      labelNames: ['cluster'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of source.clusters()) this.set({ cluster: c.cluster }, c.connections);
      },
    });
  }

  overflow(cluster: string, kind: BreakerResource): void {
    this.overflows.inc({ cluster, kind });
  }

  ejected(cluster: string, type: EjectionType): void {
    this.ejections.inc({ cluster, type });
  }

  ejectionOverflow(cluster: string): void {
    this.ejectionOverflows.inc({ cluster });
  }

  connectionOpened(cluster: string): void {
    this.opened.inc({ cluster });
  }

  connectFailed(cluster: string): void {
    this.connectFailures.inc({ cluster });
  }

  connectionClosed(cluster: string, reason: CloseReason): void {
    this.closedTotal.inc({ cluster, reason });
  }
}
