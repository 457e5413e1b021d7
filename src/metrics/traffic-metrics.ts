// The istio_tcp_* counters and the per-connection recorder the proxy drives. Byte counts are
// accumulated in plain fields on the hot path and folded into prom-client at scrape and at close.

import { Gauge, type Registry } from 'prom-client';
import type { ResponseFlag } from '../common/errors.js';
import { KeyedCounter, seriesKey, type Series } from './keyed-counter.js';
import { TRAFFIC_LABEL_NAMES, type ConnectionLabels, type Reporter } from './traffic-labels.js';

/*
 * Why not `counter.labels(...).inc(n)` per chunk: prom-client re-hashes and re-validates all 27
 * label values on every inc() (the `labels()` handle is only a bound function), which would run
 * per data chunk. Instead a recorder adds to two numbers; the byte counters' collect() hook flushes
 * every live recorder's delta just before a scrape, and close() flushes the remainder. Scrapes
 * therefore see exact totals and the data path pays one addition per chunk. The counters
 * themselves are KeyedCounters: the series key is built once per connection, not per inc().
 */

/** Per-connection handle. Invariant: closed exactly once; later calls are no-ops. */
export interface ConnectionRecorder {
  readonly labels: ConnectionLabels;
  /** Client→server bytes (istio_tcp_received_bytes_total), for BOTH reporters. */
  received(n: number): void;
  /** Server→client bytes (istio_tcp_sent_bytes_total), for BOTH reporters. */
  sent(n: number): void;
  /** Totals so far, for access logs (which flip them to the reporter's view). */
  readonly receivedBytes: number;
  readonly sentBytes: number;
  readonly closed: boolean;
  /** Records the end: closed_total with `flag` as response_flags; failed_total too if flag != '-'. */
  close(flag: ResponseFlag): void;
}

class Recorder implements ConnectionRecorder {
  receivedBytes = 0;
  sentBytes = 0;
  closed = false;
  /** Bytes already folded into the counters. */
  flushedReceived = 0;
  flushedSent = 0;

  /**
   * `rx`/`tx`: this connection's byte series (shared handles, response_flags '-'); their `key` and
   * `labels` are the canonical ones, so a live connection holds no label data of its own.
   */
  constructor(
    readonly labels: ConnectionLabels,
    readonly rx: Series,
    readonly tx: Series,
    private readonly owner: TrafficMetrics,
  ) {}

  received(n: number): void {
    if (n > 0) this.receivedBytes += n;
  }

  sent(n: number): void {
    if (n > 0) this.sentBytes += n;
  }

  close(flag: ResponseFlag): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.finish(this, flag);
  }
}

export class TrafficMetrics {
  private readonly opened: KeyedCounter;
  private readonly closedTotal: KeyedCounter;
  private readonly receivedTotal: KeyedCounter;
  private readonly sentTotal: KeyedCounter;
  private readonly failed: KeyedCounter;
  private readonly live = new Set<Recorder>();
  /** Open sockets per reporter; the gauge reads these at scrape. */
  private readonly openByReporter = new Map<string, number>();

  constructor(registry: Registry) {
    const labelNames = TRAFFIC_LABEL_NAMES;
    const registers = [registry];
    this.opened = new KeyedCounter({
      name: 'istio_tcp_connections_opened_total',
      help: 'The total number of TCP connections opened',
      labelNames,
      registers,
    });
    this.closedTotal = new KeyedCounter({
      name: 'istio_tcp_connections_closed_total',
      help: 'The total number of TCP connections closed',
      labelNames,
      registers,
    });
    this.receivedTotal = new KeyedCounter({
      name: 'istio_tcp_received_bytes_total',
      help: 'The size of total bytes received during request in case of a TCP connection',
      labelNames,
      registers,
      collect: () => this.flushLive(),
    });
    this.sentTotal = new KeyedCounter({
      name: 'istio_tcp_sent_bytes_total',
      help: 'The size of total bytes sent during response in case of a TCP connection',
      labelNames,
      registers,
      collect: () => this.flushLive(),
    });
    this.failed = new KeyedCounter({
      name: 'istio_tcp_connections_failed_total',
      help: 'The total number of TCP connections that failed to establish (unstable)',
      labelNames,
      registers,
    });
    const openByReporter = this.openByReporter;
    new Gauge({
      name: 'istio_tcp_sockets_open',
      help: 'The current number of open TCP sockets (unstable)',
      labelNames: ['reporter'] as const,
      registers,
      collect() {
        for (const [reporter, n] of openByReporter) this.set({ reporter }, n);
      },
    });
  }

  /**
   * Counts a connection as opened and returns its recorder. opened_total is recorded with
   * response_flags '-' (the value at open, as ztunnel does); the final flag only appears on
   * closed_total / failed_total. Byte counters keep the open-time labels too.
   */
  open(labels: ConnectionLabels): ConnectionRecorder {
    const open: ConnectionLabels = labels.response_flags === '-' ? labels : { ...labels, response_flags: '-' };
    const key = seriesKey(TRAFFIC_LABEL_NAMES, open);
    // The byte series exist (at 0) from open on, as ztunnel's get_or_create at open.
    const rx = this.receivedTotal.series(key, open);
    const r = new Recorder(rx.labels as ConnectionLabels, rx, this.sentTotal.series(rx.key, rx.labels), this);
    this.opened.series(rx.key, rx.labels).value += 1;
    this.openByReporter.set(open.reporter, (this.openByReporter.get(open.reporter) ?? 0) + 1);
    this.live.add(r);
    return r;
  }

  /** Number of recorders not yet closed. */
  get openConnections(): number {
    return this.live.size;
  }

  /** Open sockets for one reporter (gauge value), mainly for tests and drain logs. */
  openFor(reporter: Reporter): number {
    return this.openByReporter.get(reporter) ?? 0;
  }

  /** @internal called by Recorder.close exactly once. */
  finish(r: Recorder, flag: ResponseFlag): void {
    this.flush(r);
    this.live.delete(r);
    if (flag === '-') {
      this.closedTotal.series(r.rx.key, r.rx.labels).value += 1;
    } else {
      const final = { ...r.labels, response_flags: flag };
      const key = seriesKey(TRAFFIC_LABEL_NAMES, final);
      this.closedTotal.inc(key, final, 1);
      this.failed.inc(key, final, 1);
    }
    const reporter = r.labels.reporter;
    this.openByReporter.set(reporter, (this.openByReporter.get(reporter) ?? 1) - 1);
  }

  private flush(r: Recorder): void {
    const rx = r.receivedBytes - r.flushedReceived;
    if (rx > 0) {
      r.rx.value += rx;
      r.flushedReceived = r.receivedBytes;
    }
    const tx = r.sentBytes - r.flushedSent;
    if (tx > 0) {
      r.tx.value += tx;
      r.flushedSent = r.sentBytes;
    }
  }

  private flushLive(): void {
    for (const r of this.live) this.flush(r);
  }
}
