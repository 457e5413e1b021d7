// One proxied connection's telemetry: Istio traffic metrics (live byte counters) plus the access log
// line written exactly once on completion (ztunnel src/proxy/metrics.rs).

import { meshErrorOf, responseFlagOf } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { ConnectionRecorder, TrafficMetrics, ConnectionLabels } from '../metrics/index.js';

export type Direction = 'inbound' | 'outbound';

/** Access log fields known when the connection opens (dotted names as ztunnel logs them). */
export interface AccessFields {
  readonly 'src.addr': string;
  readonly 'src.workload'?: string;
  readonly 'src.namespace'?: string;
  readonly 'src.identity'?: string;
  readonly 'src.cluster'?: string;
  readonly 'dst.addr': string;
  readonly 'dst.hbone_addr'?: string;
  readonly 'dst.service'?: string;
  readonly 'dst.workload'?: string;
  readonly 'dst.namespace'?: string;
  readonly 'dst.identity'?: string;
  readonly 'dst.cluster'?: string;
  readonly direction: Direction;
}

export interface ConnectionRecordInputs {
  readonly accessLog: Logger;
  readonly metrics: TrafficMetrics;
  readonly labels: ConnectionLabels;
  readonly direction: Direction;
  /**
   * The access log fields, built only when a line is written: at the agents' usual `warn` level a
   * connection that completes cleanly writes none, so its addresses are never formatted.
   */
  readonly fields: () => AccessFields;
  readonly now?: () => number;
}

export class ConnectionRecord {
  private readonly recorder: ConnectionRecorder;
  private readonly started: number;
  private readonly now: () => number;
  // Only what completion needs is kept (not the inputs): a live connection should not pin its own
  // copy of the 27 metric labels, which the recorder already shares with every like connection.
  private readonly accessLog: Logger;
  private readonly direction: Direction;
  private readonly fields: () => AccessFields;
  /** client→server bytes (metric "received" for both reporters). */
  private upstreamBytes = 0;
  /** server→client bytes. */
  private downstreamBytes = 0;
  private done = false;

  constructor(inputs: ConnectionRecordInputs) {
    this.now = inputs.now ?? Date.now;
    this.started = this.now();
    this.accessLog = inputs.accessLog;
    this.direction = inputs.direction;
    this.fields = inputs.fields;
    this.recorder = inputs.metrics.open(inputs.labels);
    if (inputs.accessLog.isLevelEnabled('debug')) inputs.accessLog.debug(inputs.fields(), 'connection opened');
  }

  /** Bytes flowing client → server. */
  upstream(n: number): void {
    this.upstreamBytes += n;
    this.recorder.received(n);
  }

  /** Bytes flowing server → client. */
  downstream(n: number): void {
    this.downstreamBytes += n;
    this.recorder.sent(n);
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Closes metrics and writes the access log line; idempotent. */
  complete(err?: unknown): void {
    if (this.done) return;
    this.done = true;
    const flag = err === undefined ? '-' : responseFlagOf(err);
    this.recorder.close(flag);
    // A clean end is an info line, a failure an error line: nothing is built for a level that is off.
    if (!this.accessLog.isLevelEnabled(err === undefined ? 'info' : 'error')) return;
    const outbound = this.direction === 'outbound';
    const line = {
      ...this.fields(),
      // Access logs take the reporter's view (ztunnel src/proxy/metrics.rs): outbound
      // sent = client→server.
      bytes_sent: outbound ? this.upstreamBytes : this.downstreamBytes,
      bytes_recv: outbound ? this.downstreamBytes : this.upstreamBytes,
      duration: `${this.now() - this.started}ms`,
      ...(err === undefined ? {} : { error: describeError(err), response_flags: flag }),
    };
    if (err === undefined) this.accessLog.info(line, 'connection complete');
    else this.accessLog.error(line, 'connection complete');
  }
}

export function describeError(err: unknown): string {
  const mesh = meshErrorOf(err);
  if (mesh) return mesh.message;
  return err instanceof Error ? err.message : String(err);
}
