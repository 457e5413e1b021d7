// `ambit ctl services`: every service with its VIPs, waypoint and endpoints (healthy/total), as
// istioctl ztunnel-config services shows them.

import type { DumpService, MeshView } from './dump-schema.js';
import { waypointName } from './mesh-names.js';
import type { Table } from './table.js';

export const SERVICE_HEADERS = ['NAMESPACE', 'SERVICE NAME', 'SERVICE VIP', 'WAYPOINT', 'ENDPOINTS'] as const;

export function selectServices(view: MeshView, namespace: string | undefined): DumpService[] {
  return view.services
    .filter((s) => namespace === undefined || s.namespace === namespace)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.hostname.localeCompare(b.hostname));
}

/**
 * `healthy/total`: endpoints are the workloads whose `services` name the service's key
 * (`namespace/hostname`), as the state derives them (src/state/service-index.ts).
 */
export function endpointCount(view: MeshView, s: DumpService): string {
  const key = `${s.namespace}/${s.hostname}`;
  const eps = view.workloads.filter((w) => w.services !== undefined && Object.hasOwn(w.services, key));
  const healthy = eps.filter((w) => (w.status ?? 'Healthy') === 'Healthy').length;
  return `${healthy}/${eps.length}`;
}

export function servicesTable(view: MeshView, namespace: string | undefined): Table {
  return {
    headers: SERVICE_HEADERS,
    rows: selectServices(view, namespace).map((s) => [s.namespace, s.name, s.vips.map((v) => v.ip).join(','), waypointName(s.waypoint, view), endpointCount(view, s)]),
  };
}
