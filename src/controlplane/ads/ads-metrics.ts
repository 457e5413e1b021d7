// Prometheus metrics of the ADS server, named after istiod's (pilot/pkg/xds/monitoring.go) where one
// exists; `type` is the full type URL (istiod shortens known ones, e.g. "cds").

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Latency buckets, seconds: istiod's, plus finer ones below 100 ms (a quiet period is 100 ms). */
const CONVERGENCE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3, 5, 10, 20, 30];

export class AdsMetrics {
  /** Connected delta ADS streams (istiod `pilot_xds`, without its `version` label). */
  readonly clients: Gauge;
  /** Responses written, by type (istiod `pilot_xds_pushes`). */
  readonly pushes: Counter<'type'>;
  /** Seconds from a cache change to the response carrying it being written (istiod `pilot_proxy_convergence_time`). */
  readonly convergence: Histogram<'type'>;
  /** NACKs received, by type (istiod `pilot_total_xds_rejects`). */
  readonly rejects: Counter<'type'>;
  /** Bytes of the Resource entries written, by type (the size istiod's pilot_xds_config_size_bytes records). */
  readonly resourceBytes: Counter<'type'>;

  constructor(registry: Registry) {
    this.clients = new Gauge({
      name: 'pilot_xds',
      help: 'Number of endpoints connected to this control plane using delta ADS',
      registers: [registry],
    });
    this.pushes = new Counter({
      name: 'pilot_xds_pushes',
      help: 'Delta ADS responses written, by type URL',
      labelNames: ['type'] as const,
      registers: [registry],
    });
    this.convergence = new Histogram({
      name: 'pilot_proxy_convergence_time',
      help: 'Delay in seconds between a resource cache change and the response carrying it being written, by type URL',
      labelNames: ['type'] as const,
      buckets: CONVERGENCE_BUCKETS,
      registers: [registry],
    });
    this.rejects = new Counter({
      name: 'pilot_total_xds_rejects',
      help: 'Delta ADS responses rejected (NACKed) by clients, by type URL',
      labelNames: ['type'] as const,
      registers: [registry],
    });
    this.resourceBytes = new Counter({
      name: 'ambit_xds_resources_sent_bytes_total',
      help: 'Bytes of resources (envoy Resource entries) written in delta ADS responses, by type URL (Ambit-specific)',
      labelNames: ['type'] as const,
      registers: [registry],
    });
  }
}
