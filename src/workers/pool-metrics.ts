// The worker pool's own metrics on the main registry (Ambit-specific; ztunnel has no equivalent):
// live workers, restarts, and the connections a dying worker took with it.

import { Counter, Gauge, type Registry } from 'prom-client';

export class PoolMetrics {
  readonly restarts: Counter<'worker'>;
  readonly lostConnections: Counter;

  constructor(registry: Registry, running: () => number) {
    new Gauge({
      name: 'ambit_workers',
      help: 'Data-plane worker threads running (Ambit-specific)',
      registers: [registry],
      collect() {
        this.set(running());
      },
    });
    this.restarts = new Counter({
      name: 'ambit_worker_restarts_total',
      help: 'Data-plane worker threads that ended unexpectedly and were restarted, by worker slot (Ambit-specific)',
      labelNames: ['worker'] as const,
      registers: [registry],
    });
    this.lostConnections = new Counter({
      name: 'ambit_worker_lost_connections_total',
      help: 'Connections a worker thread was carrying when it ended unexpectedly, from its last load report (Ambit-specific)',
      registers: [registry],
    });
  }
}
