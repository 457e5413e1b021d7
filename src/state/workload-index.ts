// Immutable lookup tables over one snapshot's workloads: by uid, by network/IP and by node.
// Built off to the side by ProxyState.apply and swapped in whole; never mutated after build.

import { networkAddressKey, type Workload } from './types.js';

/**
 * Rank for workloads sharing one network/IP (ztunnel src/state/workload.rs): a Pod uid first, then
 * HBONE; ties keep snapshot order (Array.prototype.sort is stable). Lower sorts first.
 */
function ipConflictRank(w: Workload): number {
  return (w.uid.includes('//Pod/') ? 0 : 2) + (w.protocol === 'HBONE' ? 0 : 1);
}

export class WorkloadIndex {
  readonly byUid: ReadonlyMap<string, Workload>;
  /** `network/ip` → workloads with that address, best first. HostNetwork workloads are absent. */
  private readonly byAddress: ReadonlyMap<string, readonly Workload[]>;
  private readonly byNode: ReadonlyMap<string, readonly Workload[]>;

  constructor(workloads: readonly Workload[]) {
    const byUid = new Map<string, Workload>();
    const byAddress = new Map<string, Workload[]>();
    const byNode = new Map<string, Workload[]>();
    for (const w of workloads) {
      byUid.set(w.uid, w);
      const onNode = byNode.get(w.node);
      if (onNode === undefined) byNode.set(w.node, [w]);
      else onNode.push(w);
      // A HostNetwork workload shares the node's IP; indexing it would shadow the node itself.
      if (w.networkMode === 'HostNetwork') continue;
      for (const ip of w.workloadIps) {
        const key = networkAddressKey(w.network, ip);
        const list = byAddress.get(key);
        if (list === undefined) byAddress.set(key, [w]);
        else if (!list.includes(w)) list.push(w);
      }
    }
    for (const list of byAddress.values()) list.sort((a, b) => ipConflictRank(a) - ipConflictRank(b));
    this.byUid = byUid;
    this.byAddress = byAddress;
    this.byNode = byNode;
  }

  byIp(network: string, ip: string): Workload | undefined {
    return this.byAddress.get(networkAddressKey(network, ip))?.[0];
  }

  onNode(node: string): readonly Workload[] {
    return this.byNode.get(node) ?? [];
  }
}
