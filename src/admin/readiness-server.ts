// The readiness endpoint (ztunnel port 15021): GET /healthz/ready answers 200 `ready\n`, 500 with
// the sorted pending task list, or 503 `draining\n` once shutdown began; other methods 405, paths 404.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../common/log.js';
import { HttpEndpoint, pathOf, reply } from '../metrics/index.js';
import type { Readiness } from './readiness.js';

export interface ReadinessServerOptions {
  readonly readiness: Readiness;
  readonly host: string;
  readonly port: number;
  readonly logger?: Logger;
}

export class ReadinessServer extends HttpEndpoint {
  constructor(private readonly options: ReadinessServerOptions) {
    super({ name: 'readiness', host: options.host, port: options.port, logger: options.logger });
  }

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    if (pathOf(req) !== '/healthz/ready') return reply(res, 404, '');
    if (req.method !== 'GET') return reply(res, 405, '');
    const r = this.options.readiness;
    if (r.draining) return reply(res, 503, 'draining\n');
    if (r.ready()) return reply(res, 200, 'ready\n');
    reply(res, 500, `not ready, pending: ${r.pending().join(', ')}\n`);
  }

}
