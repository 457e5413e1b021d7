// The port configs of a Service owned by a VirtualService at one waypoint: HTTP ports get the
// VirtualService's http routes for that port, TCP ports its tcp backends; a port the
// VirtualService has nothing for forwards to the Service itself (istiod falls back to the default
// inbound route then). An undeclared port (Istio would sniff) is HTTP when http routes apply to it.

import type { KubeObject } from '../../k8s/index.js';
import type { Cluster, PortProtocol, Route, ServicePortConfig, WeightedCluster } from '../../waypoint/model/route-model.js';
import { detectPortProtocol, isHttpProtocol } from './port-protocol.js';
import type { ServedService } from './route-attachment.js';
import { servedCluster } from './served-service-entries.js';
import { compileVirtualServiceHttp, compileVirtualServiceTcp } from './virtual-service-compile.js';
import type { VsContext } from './virtual-service-context.js';

export function virtualServicePortConfig(
  svc: ServedService,
  p: ServedService['ports'][number],
  vs: KubeObject<'VirtualService'>,
  base: Omit<VsContext, 'listenPort'>,
  clusters: Map<string, Cluster>,
): ServicePortConfig {
  const own = servedCluster(svc, p.port, base.options)!;
  clusters.set(own.name, own);
  const ctx: VsContext = { ...base, listenPort: p.port };
  const detected = detectPortProtocol(p);
  let protocol: PortProtocol = detected.protocol;
  let routes: Route[] = [];
  let tcpBackends: WeightedCluster[] | undefined;
  if (!detected.declared || isHttpProtocol(detected.protocol)) {
    const http = compileVirtualServiceHttp(vs, ctx);
    routes = http.routes;
    for (const c of http.clusters) clusters.set(c.name, c);
    if (!detected.declared && routes.length > 0) protocol = 'http';
  }
  if (routes.length === 0 && !isHttpProtocol(protocol)) {
    const tcp = compileVirtualServiceTcp(vs, ctx);
    if (tcp !== undefined) {
      tcpBackends = tcp.backends;
      for (const c of tcp.clusters) clusters.set(c.name, c);
    }
  }
  return { port: p.port, name: p.name, protocol, routes, defaultCluster: own.name, ...(tcpBackends ? { tcpBackends } : {}) };
}
