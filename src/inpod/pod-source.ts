// Where the pod registry learns which pods of this node to capture: the seam between InpodManager
// and its sources (today the local config's `netns` key; istio-cni's ZDS protocol later).

import type { ProxyState, Workload } from '../state/index.js';

/** A pod this node must capture: its workload uid and network namespace path. */
export interface PodEntry {
  readonly uid: string;
  readonly netns: string;
}

/**
 * A source of pods. Invariant: `current()` is a complete snapshot (not a delta), and `onChange`
 * fires after every change of that snapshot; InpodManager reconciles against it.
 */
export interface PodSource {
  current(): PodEntry[];
  /** Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** Whether `w` is captured in its own pod netns on `nodeName` (the host proxy then leaves it out). */
export function isInpodWorkload(w: Workload, nodeName: string): boolean {
  return typeof w.netns === 'string' && w.netns.length > 0 && w.node === nodeName;
}

/** Pods from the local config: this node's workloads that name a network namespace. */
export class LocalConfigPodSource implements PodSource {
  constructor(
    private readonly state: ProxyState,
    private readonly nodeName: string,
  ) {}

  current(): PodEntry[] {
    return this.state
      .localWorkloads(this.nodeName)
      .filter((w): w is Workload & { netns: string } => typeof w.netns === 'string' && w.netns.length > 0)
      .map((w) => ({ uid: w.uid, netns: w.netns }));
  }

  onChange(listener: () => void): () => void {
    return this.state.onChange((c) => {
      if (c.workloadsChanged) listener();
    });
  }
}
