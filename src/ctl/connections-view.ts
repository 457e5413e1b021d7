// `ambit ctl connections`: the agent's open connections (admin /debug/connections) with the columns
// of istioctl ztunnel-config connections; addresses named after services and pods unless --raw.

import { MeshError } from '../common/errors.js';
import type { ConnectionListing } from '../proxy/index.js';
import { fieldProblems } from './dump-schema.js';
import type { MeshView } from './dump-schema.js';
import { addressNamer } from './mesh-names.js';
import type { Table } from './table.js';

export const CONNECTION_HEADERS = ['WORKLOAD', 'DIRECTION', 'LOCAL', 'REMOTE', 'REMOTE TARGET', 'PROTOCOL'] as const;

export type ConnectionRow = ConnectionListing & { readonly worker?: number };

const FIELDS = { workloadUid: 'string', direction: 'string', protocol: 'string', local: 'string', remote: 'string' } as const;

/** The rows of a /debug/connections answer; a malformed answer is refused naming the field. */
export function connectionsOf(body: Readonly<Record<string, unknown>>, who: string): ConnectionRow[] {
  const problems = fieldProblems(body.connections, 'connections', FIELDS);
  if (problems.length > 0) throw new MeshError('CTL_BAD_ANSWER', `${who} answered /debug/connections without fields this ambit ctl reads: ${problems.join(', ')}`);
  return body.connections as ConnectionRow[];
}

/** Connections of workloads in `namespace` (all without one), by workload, direction, local, remote. */
export function selectConnections(rows: readonly ConnectionRow[], view: MeshView, namespace: string | undefined): ConnectionRow[] {
  const ns = new Map(view.workloads.map((w) => [w.uid, w.namespace]));
  return rows
    .filter((c) => namespace === undefined || ns.get(c.workloadUid) === namespace)
    .sort((a, b) => a.workloadUid.localeCompare(b.workloadUid) || a.direction.localeCompare(b.direction) || a.local.localeCompare(b.local) || a.remote.localeCompare(b.remote));
}

export function connectionsTable(rows: readonly ConnectionRow[], view: MeshView, namespace: string | undefined, raw: boolean): Table {
  const byUid = new Map(view.workloads.map((w) => [w.uid, `${w.name}.${w.namespace}`]));
  const name = raw ? (a: string | undefined) => a : addressNamer(view);
  return {
    headers: CONNECTION_HEADERS,
    rows: selectConnections(rows, view, namespace).map((c) => [
      byUid.get(c.workloadUid) ?? c.workloadUid,
      c.direction === 'inbound' ? 'Inbound' : 'Outbound',
      name(c.local) ?? '',
      name(c.remote) ?? '',
      name(c.remoteTarget) ?? '',
      c.protocol,
    ]),
  };
}
