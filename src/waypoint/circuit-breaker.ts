// One cluster's circuit breakers (Envoy's ResourceManager for the default priority, as Istio fills
// it from DestinationRule connectionPool): thresholds, open counts and remaining capacity.

import type { CircuitBreaker as CircuitBreakerSettings } from './model/route-model.js';

/** Istio's value for every threshold it does not set (2^32-1: effectively unlimited). */
export const UNLIMITED = 4_294_967_295;

/**
 * Envoy's resources: `connections` (upstream connections of the cluster, all endpoints),
 * `pending` (requests waiting for a connection), `requests` (requests in flight),
 * `retries` (retries in flight).
 */
export type BreakerResource = 'connections' | 'pending' | 'requests' | 'retries';
export const BREAKER_RESOURCES: readonly BreakerResource[] = ['connections', 'pending', 'requests', 'retries'];

/** Envoy's stat names for the remaining-capacity gauges (circuit_breakers.default.remaining_*). */
export const REMAINING_STAT: Readonly<Record<BreakerResource, string>> = { connections: 'remaining_cx', pending: 'remaining_pending', requests: 'remaining_rq', retries: 'remaining_retries' };

/** A limit from the model: absent or not a non-negative integer ⇒ UNLIMITED. */
function limit(v: number | undefined): number {
  return v !== undefined && Number.isInteger(v) && v >= 0 ? Math.min(v, UNLIMITED) : UNLIMITED;
}

export class CircuitBreaker {
  private readonly open: Record<BreakerResource, number> = { connections: 0, pending: 0, requests: 0, retries: 0 };
  private limits!: Record<BreakerResource, number>;
  /** Requests per upstream connection before it is closed; 0 ⇒ unlimited (Istio maxRequestsPerConnection). */
  maxRequestsPerConnection = 0;

  constructor(
    readonly cluster: string,
    settings: CircuitBreakerSettings | undefined,
    private readonly onOverflow: (resource: BreakerResource) => void = () => {},
  ) {
    this.update(settings);
  }

  /** New thresholds apply to the next acquisition; what is open stays open (Envoy does the same). */
  update(settings: CircuitBreakerSettings | undefined): void {
    this.limits = {
      connections: limit(settings?.maxConnections),
      pending: limit(settings?.maxPendingRequests),
      requests: limit(settings?.maxRequests),
      retries: limit(settings?.maxRetries),
    };
    const perConn = settings?.maxRequestsPerConnection;
    this.maxRequestsPerConnection = perConn !== undefined && Number.isInteger(perConn) && perConn > 0 ? perConn : 0;
  }

  canCreate(r: BreakerResource): boolean {
    return this.open[r] < this.limits[r];
  }

  /**
   * Takes one unit of `r`, or records an overflow and returns undefined. The release is
   * idempotent, so every exit path may call it.
   */
  tryAcquire(r: BreakerResource): (() => void) | undefined {
    if (!this.canCreate(r)) {
      this.overflow(r);
      return undefined;
    }
    return this.take(r);
  }

  /** Takes one unit regardless of the limit (Envoy's one-connection-per-empty-host rule). */
  take(r: BreakerResource): () => void {
    this.open[r]++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.open[r]--;
    };
  }

  /** Counts an overflow of `r` (the metric) without taking anything. */
  overflow(r: BreakerResource): void {
    this.onOverflow(r);
  }

  count(r: BreakerResource): number {
    return this.open[r];
  }

  limitOf(r: BreakerResource): number {
    return this.limits[r];
  }

  remaining(r: BreakerResource): number {
    return Math.max(0, this.limits[r] - this.open[r]);
  }

  /** Envoy's circuit_breakers.default.* as /config_dump shows it. */
  dump(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      thresholds: { maxConnections: this.limits.connections, maxPendingRequests: this.limits.pending, maxRequests: this.limits.requests, maxRetries: this.limits.retries, maxRequestsPerConnection: this.maxRequestsPerConnection },
    };
    for (const r of BREAKER_RESOURCES) {
      out[REMAINING_STAT[r]] = this.remaining(r);
      out[`${REMAINING_STAT[r].replace('remaining_', '')}_open`] = this.canCreate(r) ? 0 : 1;
    }
    return out;
  }
}
