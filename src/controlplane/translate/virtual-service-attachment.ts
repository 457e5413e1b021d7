// Which VirtualService applies to a Service a waypoint serves, as istiod picks it
// (listener_waypoint.go getVirtualServiceForWaypoint): a VirtualService bound to the mesh
// (`gateways` absent or holding `mesh`), visible to the waypoint's namespace (`exportTo`), in the
// Service's namespace or the waypoint's own, one of whose `hosts` (short names resolved in the
// VirtualService's namespace, `*.suffix` wildcards) covers the Service's hostname.
//
// One VirtualService per Service: the oldest (creationTimestamp, then namespace/name) wins, as
// istiod's creation-time order makes it; the others are reported `Conflicted` for that Service.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { hostMatches, resolveHost, visibleFrom } from './istio-hosts.js';
import type { ServedService } from './route-attachment.js';
import { refOf, type Problems, type TranslateOptions } from './types.js';
import { specOf } from './virtual-service-compile.js';

const MESH = 'mesh';

interface Candidate {
  readonly vs: KubeObject<'VirtualService'>;
  readonly hosts: readonly string[];
}

const key = (o: KubeObject): string => `${o.metadata.creationTimestamp ? String(o.metadata.creationTimestamp) : ''}\u0000${o.metadata.namespace}/${o.metadata.name}`;

export class VirtualServiceIndex {
  private readonly candidates: Candidate[] = [];

  constructor(
    snapshot: ObjectSnapshot,
    options: TranslateOptions,
    private readonly waypointNs: string,
    private readonly problems: Problems,
  ) {
    const all = [...snapshot.list('VirtualService')].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    for (const vs of all) {
      const spec = specOf(vs);
      const ns = vs.metadata.namespace ?? '';
      if (spec.gateways !== undefined && spec.gateways.length > 0 && !spec.gateways.includes(MESH)) continue;
      if (!visibleFrom(spec.exportTo, ns, waypointNs)) continue;
      const hosts: string[] = [];
      for (const [i, h] of (spec.hosts ?? []).entries()) {
        if (h === '*') {
          problems.error(refOf(vs), `spec.hosts[${i}]`, 'wildcard host * is not allowed for virtual services bound to the mesh; host ignored');
          continue;
        }
        hosts.push(resolveHost(h, ns, options.domainSuffix));
      }
      if (hosts.length > 0) this.candidates.push({ vs, hosts });
    }
  }

  /** The VirtualService that owns `svc` at this waypoint, if any (conflicting ones reported). */
  forService(svc: ServedService): KubeObject<'VirtualService'> | undefined {
    let winner: KubeObject<'VirtualService'> | undefined;
    for (const c of this.candidates) {
      const ns = c.vs.metadata.namespace;
      // istiod: only routes in the Service's namespace or the waypoint's own apply.
      if (ns !== svc.namespace && ns !== this.waypointNs) continue;
      const i = c.hosts.findIndex((h) => hostMatches(h, svc.hostname));
      if (i < 0) continue;
      if (winner === undefined) {
        winner = c.vs;
        continue;
      }
      this.problems.error(refOf(c.vs), 'spec.hosts', `Conflicted: VirtualService ${winner.metadata.namespace}/${winner.metadata.name} (older) already applies to Service ${svc.namespace}/${svc.name}; not applied there`);
    }
    return winner;
  }
}
