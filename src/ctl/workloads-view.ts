// `ambit ctl workloads`: every workload the process knows, with the columns of istioctl
// ztunnel-config workloads (NAMESPACE, POD NAME, ADDRESS, NODE, WAYPOINT, PROTOCOL).

import type { DumpWorkload, MeshView } from './dump-schema.js';
import { waypointName } from './mesh-names.js';
import type { Table } from './table.js';

export const WORKLOAD_HEADERS = ['NAMESPACE', 'POD NAME', 'ADDRESS', 'NODE', 'WAYPOINT', 'PROTOCOL'] as const;

/** The workloads of `namespace` (all without one), by namespace, name, node. */
export function selectWorkloads(view: MeshView, namespace: string | undefined): DumpWorkload[] {
  return view.workloads
    .filter((w) => namespace === undefined || w.namespace === namespace)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
}

export function workloadsTable(view: MeshView, namespace: string | undefined): Table {
  return {
    headers: WORKLOAD_HEADERS,
    rows: selectWorkloads(view, namespace).map((w) => [w.namespace, w.name, w.workloadIps.join(','), w.node, waypointName(w.waypoint, view), w.protocol]),
  };
}
