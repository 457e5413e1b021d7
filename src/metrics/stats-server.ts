// The Prometheus endpoint (ztunnel port 15020): GET /metrics or /stats/prometheus. The body is
// always OpenMetrics text (as ztunnel's encoder); only the content type follows the Accept header.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/log.js';
import { HttpEndpoint, pathOf, reply } from './http-listener.js';
import { encodeOpenMetrics } from './openmetrics.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text;charset=utf-8;version=1.0.0';

export interface StatsServerOptions {
  readonly registry: Registry;
  readonly host: string;
  readonly port: number;
  readonly logger?: Logger;
  /**
   * The registry to render for one scrape, when it is more than `registry` (with worker threads:
   * main's registry merged with every worker's). Default: `registry` itself.
   */
  readonly gather?: () => Promise<Registry>;
}

/** True if any Accept entry names application/openmetrics-text (ztunnel src/metrics/server.rs). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((e) => e.split(';')[0]?.trim().toLowerCase() === 'application/openmetrics-text');
}

export class StatsServer extends HttpEndpoint {
  constructor(private readonly options: StatsServerOptions) {
    super({ name: 'stats', host: options.host, port: options.port, logger: options.logger });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    if (path !== '/metrics' && path !== '/stats/prometheus') return reply(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n');
    const registry = this.options.gather ? await this.options.gather() : this.options.registry;
    const body = await encodeOpenMetrics(registry);
    reply(res, 200, body, wantsOpenMetrics(req.headers.accept) ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE);
  }

}
