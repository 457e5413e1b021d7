// The waypoint's upstream policies per cluster (Envoy's ClusterManager in miniature): circuit
// breakers, outlier detectors and their sweeps, endpoint-set changes from the mesh state (pools
// of departed endpoints drained), retry budgets, result reports, and their /config_dump view.

import type { Logger } from '../common/log.js';
import type { ProxyState } from '../state/index.js';
import { BREAKER_RESOURCES, CircuitBreaker, type BreakerResource } from './circuit-breaker.js';
import { clusterEndpoints, type EndpointHealth, type LoadBalancer, type UpstreamEndpoint } from './load-balancer.js';
import type { Cluster } from './model/route-model.js';
import { OutlierDetector } from './outlier-detector.js';
import type { UpstreamClients } from './upstream-clients.js';
import type { UpstreamMetrics } from './upstream-metrics.js';

/** What the request forwarder asks of the cluster's policies. */
export interface UpstreamPolicies {
  /**
   * Envoy's retry circuit breaker: one unit of the cluster's maxRetries, held from the decision to
   * retry until that retry's outcome is known; undefined ⇒ over budget, the retry is not made (UO).
   */
  retryBudget(cluster: Cluster): (() => void) | undefined;
  /** One attempt's outcome for outlier detection: the HTTP status, or 503 (connect failure/reset) / 504 (timeout). */
  report(cluster: Cluster, ep: UpstreamEndpoint, status: number): void;
}

export interface ClusterManagerInputs {
  readonly state: ProxyState;
  readonly network: string;
  readonly lb: LoadBalancer;
  readonly logger: Logger;
  readonly metrics?: UpstreamMetrics;
}

export class ClusterManager implements UpstreamPolicies, EndpointHealth {
  private clusters = new Map<string, Cluster>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly detectors = new Map<string, OutlierDetector>();
  private clients: UpstreamClients | undefined;
  private unsubscribe: (() => void) | undefined;
  private started = false;

  constructor(private readonly inputs: ClusterManagerInputs) {}

  /** The pools to drain on endpoint changes (set once, after both exist). */
  attachClients(clients: UpstreamClients): void {
    this.clients = clients;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe = this.inputs.state.onChange(() => this.syncEndpoints());
    this.syncEndpoints();
    for (const d of this.detectors.values()) d.start();
  }

  /** Nothing to drain here: the pools drain with the proxy's clients. */
  close(): void {
    this.destroy();
  }

  destroy(): void {
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const d of this.detectors.values()) d.destroy();
  }

  /** The breaker of a cluster; made on first use for clusters the config does not list (mirrors, tests). */
  breaker(cluster: Cluster): CircuitBreaker {
    let b = this.breakers.get(cluster.name);
    if (!b) {
      b = new CircuitBreaker(cluster.name, cluster.circuitBreaker, (r) => this.inputs.metrics?.overflow(cluster.name, r));
      this.breakers.set(cluster.name, b);
    }
    return b;
  }

  /** A new config's clusters: thresholds and detectors follow it, state of vanished clusters goes. */
  setConfig(clusters: readonly Cluster[]): void {
    this.clusters = new Map(clusters.map((c) => [c.name, c]));
    for (const c of clusters) {
      this.breaker(c).update(c.circuitBreaker);
      const d = this.detectors.get(c.name);
      if (c.outlierDetection && d) d.update(c.outlierDetection);
      else if (c.outlierDetection) {
        const name = c.name;
        const nd = new OutlierDetector(name, c.outlierDetection, {
          ejected: (type) => {
            this.inputs.metrics?.ejected(name, type);
            this.inputs.logger.info({ cluster: name, type }, 'waypoint: endpoint ejected by outlier detection');
          },
          overflow: () => this.inputs.metrics?.ejectionOverflow(name),
        });
        this.detectors.set(name, nd);
        if (this.started) nd.start();
      } else if (d) {
        d.destroy();
        this.detectors.delete(c.name);
      }
    }
    for (const [name, d] of this.detectors) {
      if (this.clusters.has(name)) continue;
      d.destroy();
      this.detectors.delete(name);
    }
    for (const name of this.breakers.keys()) if (!this.clusters.has(name)) this.breakers.delete(name);
    this.inputs.lb.retain(new Set(this.clusters.keys()));
    this.syncEndpoints();
  }

  /**
   * The mesh state or the config changed: detectors track the clusters' endpoints, pools of
   * (cluster, endpoint) pairs no longer live drain. Live = healthy, as Istio sends Envoy only
   * healthy endpoints; requests in flight keep their connections until they finish.
   */
  private syncEndpoints(): void {
    const live = new Map<string, Set<string>>();
    for (const c of this.clusters.values()) {
      const keys = new Set(clusterEndpoints(this.inputs.state, c, this.inputs.network).filter((e) => e.healthy).map((e) => e.key));
      live.set(c.name, keys);
      this.detectors.get(c.name)?.setHosts(keys);
    }
    this.clients?.retain((cluster, endpoint) => live.get(cluster)?.has(endpoint) ?? false);
  }

  ejected(cluster: string, endpointKey: string): boolean {
    return this.detectors.get(cluster)?.isEjected(endpointKey) ?? false;
  }

  retryBudget(cluster: Cluster): (() => void) | undefined {
    return this.breaker(cluster).tryAcquire('retries');
  }

  report(cluster: Cluster, ep: UpstreamEndpoint, status: number): void {
    this.detectors.get(cluster.name)?.report(ep.key, status);
  }

  /** For the gauges: every configured cluster's remaining capacity, ejections and connections. */
  *gauges(): Iterable<{ cluster: string; remaining: Record<BreakerResource, number>; ejectionsActive: number | undefined; connections: number }> {
    const stats = this.clients?.stats();
    for (const c of this.clusters.values()) {
      const b = this.breaker(c);
      const remaining = Object.fromEntries(BREAKER_RESOURCES.map((r) => [r, b.remaining(r)])) as Record<BreakerResource, number>;
      yield { cluster: c.name, remaining, ejectionsActive: this.detectors.get(c.name)?.activeEjections, connections: stats?.get(c.name)?.connections ?? 0 };
    }
  }

  /** The cluster's circuit breakers, connection pool and outlier state, for /config_dump. */
  dump(cluster: Cluster): Record<string, unknown> {
    const d = this.detectors.get(cluster.name);
    return {
      circuitBreakers: this.breaker(cluster).dump(),
      connectionPool: this.clients?.stats().get(cluster.name) ?? { connections: 0, busy: 0, activeStreams: 0, pending: 0 },
      ...(d ? { outlierDetection: { ejectionsActive: d.activeEjections } } : {}),
    };
  }

  /** One endpoint's outlier state, for /config_dump. */
  endpointDump(cluster: Cluster, endpointKey: string): Record<string, unknown> | undefined {
    return this.detectors.get(cluster.name)?.dump(endpointKey);
  }
}
