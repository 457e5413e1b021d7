// A WaypointConfig compiled once per setConfig: services by key, per-port routes (PortRoutes) and
// clusters by name. Immutable; a request holds the one it started with across a swap.

import { MeshError } from '../common/errors.js';
import { WAYPOINT_CONFIG_VERSION, type Cluster, type Route, type ServiceConfig, type ServicePortConfig, type WaypointConfig } from './model/route-model.js';
import { PortRoutes, regexRewriter } from './routing/index.js';
import { compileCors } from './cors.js';

/** Compiles a route's CORS origins and regex rewrites now; throws CONFIG_INVALID for a bad regex. */
function precompileRoute(r: Route): void {
  if (r.cors) compileCors(r.cors);
  const rewrites = [r.rewrite, ...(r.action.kind === 'forward' ? r.action.backends.map((b) => b.rewrite) : [])];
  for (const rw of rewrites) if (rw?.path?.type === 'RegexRewrite') regexRewriter(rw.path);
}

export interface CompiledPort {
  readonly service: ServiceConfig;
  readonly port: ServicePortConfig;
  readonly routes: PortRoutes;
}

export class CompiledConfig {
  /** `namespace/hostname` → servicePort → compiled port. */
  private readonly ports = new Map<string, Map<number, CompiledPort>>();
  readonly clusters = new Map<string, Cluster>();

  constructor(readonly source: WaypointConfig) {
    if (source.version !== WAYPOINT_CONFIG_VERSION) {
      throw new MeshError('CONFIG_INVALID', `waypoint config version ${String(source.version)} is not ${WAYPOINT_CONFIG_VERSION}`);
    }
    for (const c of source.clusters) this.clusters.set(c.name, c);
    for (const svc of source.services) {
      const byPort = new Map<number, CompiledPort>();
      for (const p of svc.ports) {
        byPort.set(p.port, { service: svc, port: p, routes: new PortRoutes(p.routes) });
        // Compile what requests would otherwise compile lazily, so a bad regex is refused here.
        for (const r of p.routes) precompileRoute(r);
      }
      this.ports.set(`${svc.namespace}/${svc.hostname}`, byPort);
    }
  }

  static empty(): CompiledConfig {
    return new CompiledConfig({ version: WAYPOINT_CONFIG_VERSION, waypoint: { namespace: '', name: '' }, services: [], clusters: [] });
  }

  /** The served port of a service, or undefined when this waypoint does not serve it. */
  port(namespace: string, hostname: string, port: number): CompiledPort | undefined {
    return this.ports.get(`${namespace}/${hostname}`)?.get(port);
  }

  /** Whether the service is served on any port. */
  serves(namespace: string, hostname: string): boolean {
    return this.ports.has(`${namespace}/${hostname}`);
  }
}
