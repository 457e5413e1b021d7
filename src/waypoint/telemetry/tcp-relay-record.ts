// One TCP relay through the waypoint (a service port declared TCP): the agent's istio_tcp_*
// metrics with reporter="waypoint", and a "connection complete" access log line as the agent writes.

import type { ResponseFlag } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { formatAuthority } from '../../hbone/index.js';
import type { ConnectionRecorder, TrafficMetrics } from '../../metrics/index.js';
import type { Service, Workload } from '../../state/index.js';
import { spiffeUri, waypointTrafficLabels, type WaypointSelf } from './request-labels.js';
import { elapsedMs } from './request-metrics.js';

export interface TcpRelayStart {
  readonly source: { readonly ip: string; readonly port: number; readonly identity?: string; readonly workload?: Workload };
  /** The service addressed (from the CONNECT authority). */
  readonly destinationService?: Service;
  /** The endpoint picked, known before the upstream connect (so a failed connect still has it). */
  readonly upstream?: { readonly ip: string; readonly port: number; readonly workload?: Workload; readonly identity?: string };
  /** Cluster name, for the log. */
  readonly cluster?: string;
}

export interface TcpRelayEnd {
  /** Envoy response flags ('-' when none): UF connect failure, UH no endpoint, UO overflow, ... */
  readonly flags?: string;
  readonly error?: Error;
}

/** The handle a TCP relay reports through. Invariant: closed once; later calls do nothing. */
export interface TcpRelay {
  /** Client → upstream bytes (istio_tcp_received_bytes_total). */
  received(n: number): void;
  /** Upstream → client bytes (istio_tcp_sent_bytes_total). */
  sent(n: number): void;
  /**
   * Ends the relay: closed_total with the final flags, failed_total too when they are not '-' (as
   * the agent counts). An error without flags gets UF if no byte moved, else UC (defaultFlags).
   */
  close(end?: TcpRelayEnd): void;
  readonly closed: boolean;
}

export interface TcpRelayRecordInputs {
  readonly start: TcpRelayStart;
  readonly waypoint: WaypointSelf;
  readonly metrics: TrafficMetrics;
  readonly logger: Logger;
  readonly accessLog: boolean;
  readonly now: () => bigint;
}

export class TcpRelayRecord implements TcpRelay {
  private readonly recorder: ConnectionRecorder;
  private readonly startedAt: bigint;
  closed = false;

  constructor(private readonly inputs: TcpRelayRecordInputs) {
    const { start } = inputs;
    this.startedAt = inputs.now();
    this.recorder = inputs.metrics.open(
      waypointTrafficLabels({
        waypoint: inputs.waypoint,
        source: start.source.workload,
        sourcePrincipal: start.source.identity,
        destination: start.upstream?.workload,
        destinationPrincipal: spiffeUri(start.upstream?.identity),
        destinationService: start.destinationService,
      }),
    );
  }

  received(n: number): void {
    this.recorder.received(n);
  }

  sent(n: number): void {
    this.recorder.sent(n);
  }

  close(end: TcpRelayEnd = {}): void {
    if (this.closed) return;
    this.closed = true;
    const flags = end.flags === undefined || end.flags === '' ? defaultFlags(end.error, this.recorder) : end.flags;
    // The agent's ResponseFlag union is its own (ztunnel) vocabulary; a waypoint reports Envoy's.
    // Both are label text to TrafficMetrics, which only tells '-' from the rest.
    this.recorder.close(flags as ResponseFlag);
    const { logger, accessLog, start } = this.inputs;
    const failed = flags !== '-';
    if (!accessLog || !logger.isLevelEnabled(failed ? 'error' : 'info')) return;
    const line = {
      'src.addr': formatAuthority(start.source.ip, start.source.port),
      'src.workload': start.source.workload?.name,
      'src.namespace': start.source.workload?.namespace,
      'src.identity': spiffeUri(start.source.identity),
      'dst.addr': start.upstream === undefined ? undefined : formatAuthority(start.upstream.ip, start.upstream.port),
      'dst.service': start.destinationService?.hostname,
      'dst.workload': start.upstream?.workload?.name,
      'dst.namespace': start.upstream?.workload?.namespace,
      'dst.identity': spiffeUri(start.upstream?.identity),
      upstream_cluster: start.cluster,
      direction: 'waypoint',
      // The waypoint's view, as the agent's inbound side: sent = to the client.
      bytes_sent: this.recorder.sentBytes,
      bytes_recv: this.recorder.receivedBytes,
      duration: `${elapsedMs(this.startedAt, this.inputs.now())}ms`,
      ...(failed ? { response_flags: flags, error: end.error?.message } : {}),
    };
    if (failed) logger.error(line, 'connection complete');
    else logger.info(line, 'connection complete');
  }
}

/**
 * Flags when the caller gave none: none for a clean close; for an error, UF when no byte moved
 * (the upstream connect failed, Envoy tcp_proxy's flag) and UC otherwise (the upstream went away).
 */
function defaultFlags(error: Error | undefined, r: ConnectionRecorder): string {
  if (error === undefined) return '-';
  return r.receivedBytes === 0 && r.sentBytes === 0 ? 'UF' : 'UC';
}
