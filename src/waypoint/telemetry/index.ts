// TEMPORARY stand-in for the telemetry library written on another branch (replaced at merge): the
// agreed API with request ids and W3C trace headers, and no metrics/access log of its own.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.js';
import type { Service, Workload } from '../../state/index.js';

export interface RequestStart {
  protocol: 'http' | 'grpc';
  method: string;
  path: string;
  authority: string;
  source: { ip: string; port: number; identity?: string; workload?: Workload };
  destinationService?: Service;
  headers: Map<string, string[]>;
  startedAt: bigint;
}
export interface RequestEnd {
  status: number;
  grpcStatus?: number;
  flags: string;
  route?: string;
  cluster?: string;
  upstream?: { ip: string; port: number; workload?: Workload; identity?: string };
  requestBytes: number;
  responseBytes: number;
  attempts?: number;
  error?: Error;
}
export interface RequestSpan {
  readonly requestId: string;
  readonly traceId: string;
  readonly spanId: string;
  end(result: RequestEnd): void;
}

export class WaypointTelemetry {
  constructor(
    private readonly options: {
      registry: Registry;
      logger: Logger;
      waypoint: { namespace: string; name: string; identity: string; workload?: Workload };
      accessLog?: boolean;
    },
  ) {}

  begin(start: RequestStart): RequestSpan {
    const requestId = start.headers.get('x-request-id')?.[0] ?? randomUUID();
    start.headers.set('x-request-id', [requestId]);
    const parent = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(start.headers.get('traceparent')?.[0] ?? '');
    const traceId = parent?.[1] ?? randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    start.headers.set('traceparent', [`00-${traceId}-${spanId}-01`]);
    const log = this.options.logger;
    const access = this.options.accessLog === true;
    return {
      requestId,
      traceId,
      spanId,
      end(result: RequestEnd): void {
        if (access) log.info({ method: start.method, path: start.path, status: result.status, flags: result.flags, route: result.route }, 'request');
      },
    };
  }
}
