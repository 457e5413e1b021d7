// ztunnel's in-pod workload manager metrics (upstream: ztunnel src/inpod/metrics.rs), registered at
// the root with prefix `workload_manager_` as ztunnel's code does (its README's istio_ names differ).

import { Counter, Gauge, type Registry } from 'prom-client';

/** Implements the pod registry's metrics seam (src/inpod InpodManagerInputs.metrics). */
export class WorkloadManagerMetrics {
  private readonly active: Gauge;
  private readonly pending: Gauge;
  private readonly started: Counter;
  private readonly stopped: Counter;

  constructor(registry: Registry) {
    this.active = new Gauge({ name: 'workload_manager_active_proxy_count', help: 'The total number current workloads with active proxies', registers: [registry] });
    this.pending = new Gauge({ name: 'workload_manager_pending_proxy_count', help: 'The total number current workloads with pending proxies', registers: [registry] });
    this.started = new Counter({ name: 'workload_manager_proxies_started_total', help: 'The total number of proxies that were started', registers: [registry] });
    this.stopped = new Counter({ name: 'workload_manager_proxies_stopped_total', help: 'The total number of proxies that were stopped', registers: [registry] });
  }

  /** Pods with a running proxy, and pods whose proxy is starting or waiting for a retry. */
  counts(active: number, pending: number): void {
    this.active.set(active);
    this.pending.set(pending);
  }

  proxyStarted(): void {
    this.started.inc();
  }

  proxyStopped(): void {
    this.stopped.inc();
  }
}
