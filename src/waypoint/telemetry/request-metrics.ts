// Istio's standard HTTP metrics as the waypoint reports them (reporter="waypoint"):
// istio_requests_total, istio_request_duration_milliseconds, istio_request_bytes, istio_response_bytes.

import type { Metric, Registry } from 'prom-client';
import { TRAFFIC_LABEL_NAMES } from '../../metrics/index.js';

/*
 * Why not prom-client's Counter/Histogram: each observe(labels, v) re-sorts, re-validates and
 * re-hashes all 29 label values, and a request makes four such calls. Here a request builds its
 * series key once and updates one record holding all four metrics (the node agent's KeyedCounter
 * reasoning, src/metrics/keyed-counter.ts). The Registry renders whatever get() returns, in the
 * same shape prom-client's own counters and histograms produce, so the exposition is unchanged.
 */

/**
 * Bucket upper bounds (ms) of istio_request_duration_milliseconds: Envoy's default histogram
 * buckets (HistogramSettingsImpl::defaultBuckets, envoy source/common/stats/histogram_impl.cc).
 * Istio's stats filter records into plain Envoy histograms and its bootstrap sets no
 * histogram_bucket_settings unless the `sidecar.istio.io/statsHistogramBuckets` annotation asks.
 */
export const REQUEST_DURATION_BUCKETS_MS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);

/**
 * Bucket upper bounds (bytes) of istio_request_bytes / istio_response_bytes. The same Envoy
 * defaults, for the same reason: Istio gives its byte histograms no buckets of their own, so a
 * real waypoint exposes le="0.5" ... le="3600000" on them too; dashboards' histogram_quantile
 * over these series therefore matches Envoy's.
 */
export const REQUEST_BYTES_BUCKETS: readonly number[] = REQUEST_DURATION_BUCKETS_MS;

/** The agent's 27 traffic labels plus the two HTTP-only ones (istio_stats.cc all_tags_). */
export const REQUEST_LABEL_NAMES = [...TRAFFIC_LABEL_NAMES, 'response_code', 'grpc_response_status'] as const;
export type RequestLabelName = (typeof REQUEST_LABEL_NAMES)[number];
export type RequestLabels = { readonly [K in RequestLabelName]: string };

/** Milliseconds between two process.hrtime.bigint() readings, to the microsecond; never negative. */
export function elapsedMs(from: bigint, to: bigint): number {
  const ns = to - from;
  return ns <= 0n ? 0 : Number(ns / 1000n) / 1000;
}

type Labels = Readonly<Record<string, string>>;

/** One histogram series: per-bucket (not cumulative) counts, the last slot is +Inf. */
class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    // 19 bounds, values mostly small: a linear scan beats a binary search here.
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]! += 1;
    this.sum += v;
    this.count += 1;
  }
}

/** An opaque handle on one label set's series (RequestMetrics.seriesFor). */
export interface RequestSeries {
  readonly labels: Readonly<Record<string, string>>;
}

/** Everything one label set has; shared by the four metrics. */
interface Series extends RequestSeries {
  readonly labels: Labels;
  requests: number;
  readonly duration: Buckets;
  readonly requestBytes: Buckets;
  readonly responseBytes: Buckets;
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** Unique per label set (length-prefixed values, so no value can forge another set's key). */
function keyOf(labels: RequestLabels): string {
  let key = '';
  for (const name of REQUEST_LABEL_NAMES) {
    const v = labels[name];
    key += `${v.length}:${v}`;
  }
  return key;
}

export class RequestMetrics {
  private readonly series = new Map<string, Series>();

  constructor(registry: Registry) {
    this.register(registry, 'istio_requests_total', 'counter', 'Total number of requests handled by the waypoint', () => this.counterSamples());
    this.register(registry, 'istio_request_duration_milliseconds', 'histogram', 'Request duration in milliseconds', (name) =>
      this.histogramSamples(name, REQUEST_DURATION_BUCKETS_MS, (s) => s.duration),
    );
    this.register(registry, 'istio_request_bytes', 'histogram', 'Request size in bytes', (name) =>
      this.histogramSamples(name, REQUEST_BYTES_BUCKETS, (s) => s.requestBytes),
    );
    this.register(registry, 'istio_response_bytes', 'histogram', 'Response size in bytes', (name) =>
      this.histogramSamples(name, REQUEST_BYTES_BUCKETS, (s) => s.responseBytes),
    );
  }

  /** Records one completed request: +1 request, one observation in each histogram. */
  record(labels: RequestLabels, durationMs: number, requestBytes: number, responseBytes: number): void {
    this.observe(this.seriesFor(labels), durationMs, requestBytes, responseBytes);
  }

  /**
   * The series of one label set, created on first use. A handle stays valid for the life of this
   * RequestMetrics (series are never removed; reset() zeroes them in place), so callers may cache it.
   */
  seriesFor(labels: RequestLabels): RequestSeries {
    const key = keyOf(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        labels: Object.freeze({ ...labels }),
        requests: 0,
        duration: new Buckets(REQUEST_DURATION_BUCKETS_MS),
        requestBytes: new Buckets(REQUEST_BYTES_BUCKETS),
        responseBytes: new Buckets(REQUEST_BYTES_BUCKETS),
      };
      this.series.set(key, s);
    }
    return s;
  }

  /** record() on a handle from seriesFor(): no label set built, no key hashed. */
  observe(series: RequestSeries, durationMs: number, requestBytes: number, responseBytes: number): void {
    const s = series as Series;
    s.requests += 1;
    s.duration.observe(Math.max(0, durationMs));
    s.requestBytes.observe(Math.max(0, requestBytes));
    s.responseBytes.observe(Math.max(0, responseBytes));
  }

  /** Number of distinct label sets seen (cardinality, for tests and diagnostics). */
  get seriesCount(): number {
    return this.series.size;
  }

  private register(registry: Registry, name: string, type: 'counter' | 'histogram', help: string, samples: (name: string) => Sample[]): void {
    const series = this.series;
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      labelNames: REQUEST_LABEL_NAMES,
      get: async () => ({ name, help, type, aggregator: 'sum', values: samples(name) }),
      // Zeroes values but keeps the series (as prom-client's reset does for counters it owns).
      reset: () => {
        for (const s of series.values()) {
          s.requests = 0;
          for (const b of [s.duration, s.requestBytes, s.responseBytes]) {
            b.counts.fill(0);
            b.sum = 0;
            b.count = 0;
          }
        }
      },
    };
    // The Registry reads name/type/help and calls get()/reset(); its types list prom-client's own
    // classes, hence the cast (as src/metrics/keyed-counter.ts).
    registry.registerMetric(metric as unknown as Metric);
  }

  private counterSamples(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.series.values()) out.push({ value: s.requests, labels: { ...s.labels } });
    return out;
  }

  /** prom-client's histogram shape: cumulative `_bucket` samples with `le`, then `_sum`, `_count`. */
  private histogramSamples(name: string, bounds: readonly number[], pick: (s: Series) => Buckets): Sample[] {
    const out: Sample[] = [];
    const bucket = `${name}_bucket`;
    for (const s of this.series.values()) {
      const b = pick(s);
      let acc = 0;
      for (let i = 0; i < bounds.length; i++) {
        acc += b.counts[i]!;
        out.push({ value: acc, labels: { ...s.labels, le: bounds[i]! }, metricName: bucket });
      }
      out.push({ value: b.count, labels: { ...s.labels, le: '+Inf' }, metricName: bucket });
      out.push({ value: b.sum, labels: { ...s.labels }, metricName: `${name}_sum` });
      out.push({ value: b.count, labels: { ...s.labels }, metricName: `${name}_count` });
    }
    return out;
  }
}
