// Immutable index of Authorization policies by key and by selection scope (ztunnel
// src/state/policy.rs): Namespace scope by namespace, Global scope all together, selector scope by
// key only.

import { policyKey, type Authorization, type Workload } from './types.js';

const NONE: readonly Authorization[] = Object.freeze([]);

export class PolicyIndex {
  readonly byKey: ReadonlyMap<string, Authorization>;
  private readonly byNamespace: ReadonlyMap<string, readonly Authorization[]>;
  /** Global-scope policies apply everywhere, whatever their own namespace field says. */
  private readonly global: readonly Authorization[];

  constructor(policies: readonly Authorization[]) {
    const byKey = new Map<string, Authorization>();
    for (const p of policies) byKey.set(policyKey(p.namespace, p.name), p);
    const byNamespace = new Map<string, Authorization[]>();
    const global: Authorization[] = [];
    // Iterate the de-duplicated map so a repeated key cannot be selected twice.
    for (const p of byKey.values()) {
      if (p.scope === 'Global') global.push(p);
      else if (p.scope === 'Namespace') {
        const list = byNamespace.get(p.namespace);
        if (list === undefined) byNamespace.set(p.namespace, [p]);
        else list.push(p);
      }
    }
    this.byKey = byKey;
    this.byNamespace = byNamespace;
    this.global = global;
  }

  /**
   * Policies that apply to `workload` as a destination: its namespace's Namespace-scope policies,
   * every Global policy, and the keys in `workload.authorizationPolicies` (unknown keys are
   * skipped, as ztunnel does). A policy reachable two ways is returned once.
   */
  policiesFor(workload: Workload): readonly Authorization[] {
    // Asked twice per inbound connection: with no policy at all there is nothing to select.
    if (this.byKey.size === 0) return NONE;
    const out = new Set<Authorization>(this.byNamespace.get(workload.namespace) ?? []);
    for (const p of this.global) out.add(p);
    for (const key of workload.authorizationPolicies) {
      const p = this.byKey.get(key);
      if (p !== undefined) out.add(p);
    }
    return [...out];
  }

  /** Keys referenced by `workload` that name no known policy (for warnings). */
  unknownKeys(workload: Workload): string[] {
    return workload.authorizationPolicies.filter((k) => !this.byKey.has(k));
  }
}
