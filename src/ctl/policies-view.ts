// `ambit ctl policies`: the L4 authorization policies the process holds (istioctl ztunnel-config
// policies: NAMESPACE, POLICY NAME, ACTION, SCOPE), dry-run ones marked in the action.

import type { DumpPolicy, MeshView } from './dump-schema.js';
import type { Table } from './table.js';

export const POLICY_HEADERS = ['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE'] as const;

export function selectPolicies(view: MeshView, namespace: string | undefined): DumpPolicy[] {
  return view.policies
    .filter((p) => namespace === undefined || p.namespace === namespace)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export function policiesTable(view: MeshView, namespace: string | undefined): Table {
  return {
    headers: POLICY_HEADERS,
    rows: selectPolicies(view, namespace).map((p) => [p.namespace, p.name, p.dryRun === true ? `${p.action} (dry run)` : p.action, p.scope]),
  };
}
