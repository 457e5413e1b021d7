// The control plane's HTTP monitoring port (istiod's 15014): Prometheus /metrics, /ready, and debug
// views in the style of istiod's /debug/adsz and /debug/configz: clients, objects, resources, CA.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/log.js';
import { KINDS, type ObjectSource } from '../k8s/index.js';
import { HttpEndpoint, pathOf, reply } from '../metrics/index.js';
import type { PipelineState } from './mesh-pipeline.js';

/** What the monitoring port reads from the running control plane. */
export interface MonitoredPlane {
  readonly registry: Registry;
  readonly source: ObjectSource;
  ready(): { ready: boolean; pending: string[] };
  /** The ADS debug view (/debug/adsz) and the CA's recent decisions. */
  debug(): { ads: unknown; ca: unknown };
  readonly pipeline: { state(): PipelineState };
}

export interface MonitoringServerOptions {
  readonly plane: MonitoredPlane;
  readonly host: string;
  readonly port: number;
  readonly logger?: Logger;
}

const JSON_TYPE = 'application/json';

export class MonitoringServer extends HttpEndpoint {
  private readonly plane: MonitoredPlane;

  constructor(options: MonitoringServerOptions) {
    super({ name: 'monitoring', host: options.host, port: options.port, logger: options.logger });
    this.plane = options.plane;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') return reply(res, 405, '');
    const path = pathOf(req);
    switch (path) {
      case '/metrics':
      case '/stats/prometheus':
        return reply(res, 200, await this.plane.registry.metrics(), this.plane.registry.contentType);
      case '/ready': {
        const r = this.plane.ready();
        return r.ready ? reply(res, 200, 'ready\n') : reply(res, 503, `not ready, pending: ${r.pending.join(', ')}\n`);
      }
      case '/debug/adsz':
        return json(res, this.plane.debug().ads);
      case '/debug/ca':
        return json(res, this.plane.debug().ca);
      case '/debug/configz':
        return json(res, this.configz());
      case '/debug/resources':
        return json(res, this.resources());
      default:
        return reply(res, 404, 'see /metrics, /ready, /debug/adsz, /debug/configz, /debug/resources, /debug/ca\n');
    }
  }

  /** Every object the control plane holds, by kind, and every object it refused. */
  private configz(): unknown {
    const snapshot = this.plane.source.snapshot();
    const objects: Record<string, readonly unknown[]> = {};
    for (const kind of KINDS) {
      const list = snapshot.list(kind);
      if (list.length > 0) objects[kind] = list;
    }
    return { version: snapshot.version, synced: this.plane.source.synced, objects, rejected: this.plane.source.rejections() };
  }

  /**
   * The last translation: resources for node agents, waypoints, every problem (mesh and waypoint
   * translation), and route status — `routeStatus` per HTTPRoute/GRPCRoute/TCPRoute with the
   * problems found in that route (`httpRouteStatus`: the HTTPRoutes of it, as earlier releases),
   * and `gatewayStatus` per waypoint Gateway (what is written to its status in cluster mode).
   */
  private resources(): unknown {
    const s = this.plane.pipeline.state();
    const t = s.translation;
    const routeStatus = s.waypoints?.routeStatus;
    return {
      objectsVersion: s.objectsVersion,
      translatedAt: s.translatedAt,
      translationMs: s.translationMs,
      workloads: t?.workloads ?? [],
      services: t?.services ?? [],
      policies: t?.policies ?? [],
      waypoints: t?.waypoints ?? [],
      httpRouteStatus: routeStatus?.filter((r) => r.kind === 'HTTPRoute') ?? t?.httpRouteStatus ?? [],
      routeStatus: routeStatus ?? t?.httpRouteStatus ?? [],
      gatewayStatus: s.waypoints?.gatewayStatus ?? [],
      problems: [...(t?.errors ?? []), ...(s.waypoints?.errors ?? [])],
    };
  }
}

function json(res: ServerResponse, body: unknown): void {
  reply(res, 200, JSON.stringify(body, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v), 2) + '\n', JSON_TYPE);
}
