// One /metrics for the whole agent: the main thread's registry (process metrics, xDS, build info)
// merged with every worker's counters and gauges, and with what workers that died had counted.

import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsJson } from './worker-thread.js';

type Metric = MetricsJson[number];
type Value = Metric['values'][number];

/** The per-worker view of istio_tcp_connections_opened_total (which worker served how many). */
export const WORKER_CONNECTIONS_METRIC = 'ambit_worker_connections_opened_total';
const OPENED = 'istio_tcp_connections_opened_total';

function labelKey(v: Value): string {
  return `${v.metricName ?? ''}|${JSON.stringify(v.labels)}`;
}

function sumOf(json: MetricsJson | undefined, name: string): number {
  return json?.find((m) => m.name === name)?.values.reduce((n, v) => n + v.value, 0) ?? 0;
}

/**
 * Invariants: every counter series sums over the live workers and the retired totals, so a
 * counter never goes down when a worker dies and is replaced (what a dead worker counted after
 * its last scrape is lost, and was never shown). Gauges sum over live workers only. Process
 * metrics come from the main registry alone: workers' registries have none (no double count).
 */
export class MergedMetrics {
  /** Counters of workers that died, by metric name → series key → value. */
  private readonly retired = new Map<string, { meta: Omit<Metric, 'values'>; series: Map<string, Value> }>();
  /** Connections opened per worker slot by its threads that died. */
  private readonly retiredOpened = new Map<number, number>();

  /** Folds what a worker that died last reported into the retired totals. */
  retire(workerId: number, last: MetricsJson | undefined): void {
    if (!last) return;
    this.retiredOpened.set(workerId, (this.retiredOpened.get(workerId) ?? 0) + sumOf(last, OPENED));
    for (const m of last) {
      if (m.type !== 'counter') continue;
      let held = this.retired.get(m.name);
      if (!held) {
        held = { meta: { name: m.name, help: m.help, type: m.type, aggregator: m.aggregator }, series: new Map() };
        this.retired.set(m.name, held);
      }
      for (const v of m.values) {
        const key = labelKey(v);
        const prev = held.series.get(key);
        held.series.set(key, { ...v, value: (prev?.value ?? 0) + v.value });
      }
    }
  }

  /** The merged registry for one scrape; `live` = each live worker's id and answer. */
  async merge(main: Registry, live: ReadonlyArray<{ readonly id: number; readonly json: MetricsJson }>): Promise<Registry> {
    const retired: Metric[] = [...this.retired.values()].map(({ meta, series }) => ({ ...meta, values: [...series.values()] }));
    const perWorker = new Map(this.retiredOpened);
    for (const { id, json } of live) perWorker.set(id, (perWorker.get(id) ?? 0) + sumOf(json, OPENED));
    const workers: Metric = {
      name: WORKER_CONNECTIONS_METRIC,
      help: 'Connections opened by each data-plane worker thread (istio_tcp_connections_opened_total by worker; Ambit-specific)',
      type: 'counter',
      aggregator: 'sum',
      values: [...perWorker.entries()].sort(([a], [b]) => a - b).map(([id, value]) => ({ value, labels: { worker: String(id) } })),
    };
    const all = [await main.getMetricsAsJSON(), retired, ...live.map((l) => l.json), [workers]];
    // prom-client's typings want its own metric objects; these are their JSON form, which is what
    // aggregate() reads (name, help, type, aggregator, values).
    return AggregatorRegistry.aggregate(all as unknown as Parameters<typeof AggregatorRegistry.aggregate>[0]);
  }
}
