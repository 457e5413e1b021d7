// The routes of one service port compiled once for the request path: first match wins, because
// the control plane already sorted them by Gateway API precedence (route-model invariant).

import type { Route } from '../model/route-model.js';
import type { RequestView } from './request-view.js';
import { compileRouteMatch, routeMatches, type CompiledRouteMatch } from './route-match.js';

/**
 * The routes of one service port, compiled once (regexes precompiled); select() is the
 * per-request hot path. Construction throws MeshError CONFIG_INVALID for a bad regex, so the xDS
 * layer can NACK the config before it replaces a working one.
 */
export class PortRoutes {
  readonly size: number;
  private readonly routes: readonly Route[];
  private readonly compiled: readonly CompiledRouteMatch[];

  constructor(routes: readonly Route[]) {
    this.routes = routes;
    this.compiled = routes.map((r) => compileRouteMatch(r.match));
    this.size = routes.length;
  }

  /**
   * The first route whose match matches, or undefined. Undefined with size > 0 means 404 (GAMMA:
   * routes attached but none matches); with size 0 the caller forwards to the default cluster.
   */
  select(req: RequestView): Route | undefined {
    const { routes, compiled } = this;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      if (routeMatches(route.match, req, compiled[i])) return route;
    }
    return undefined;
  }
}
