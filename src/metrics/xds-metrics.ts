// ztunnel's xDS client metrics (upstream: ztunnel src/xds/metrics.rs): stream
// terminations by reason, and responses and their resource bytes by type URL.

import { Counter, type Registry } from 'prom-client';

/** Stream-end reasons, ztunnel's ConnectionTerminationReason label values. */
export type XdsTerminationReason = 'ConnectionError' | 'Error' | 'Reconnect' | 'Complete';

/** Implements the xDS client's metrics seam (src/xds XdsClientMetrics) on the shared registry. */
export class XdsMetrics {
  private readonly terminations: Counter<'reason'>;
  private readonly messages: Counter<'url'>;
  private readonly messageBytes: Counter<'url'>;

  constructor(registry: Registry) {
    this.terminations = new Counter({
      name: 'istio_xds_connection_terminations_total',
      help: 'The total number of completed connections to xds server (unstable)',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    this.messages = new Counter({
      name: 'istio_xds_message_total',
      help: 'Total number of messages received (unstable)',
      labelNames: ['url'] as const,
      registers: [registry],
    });
    this.messageBytes = new Counter({
      name: 'istio_xds_message_bytes_total',
      help: 'Total number of bytes received (unstable)',
      labelNames: ['url'] as const,
      registers: [registry],
    });
  }

  termination(reason: XdsTerminationReason): void {
    this.terminations.inc({ reason });
  }

  /** One response of type `url`; `bytes` = the summed size of its resources (the Any values). */
  message(url: string, bytes: number): void {
    this.messages.inc({ url });
    this.messageBytes.inc({ url }, bytes);
  }
}
