// Where the pod registry learns which pods of this node to capture: the seam between InpodManager
// and its sources (own-rules mode: the local config's `netns` key; zds mode: istio-cni over ZDS).

import type { ProxyState, Workload } from '../state/index.js';
import type { ZdsWorkloadInfo } from './zds-codec.js';

/**
 * Who installs the redirect rules in a pod's netns: Ambit itself (own-rules mode, for clusters
 * without istio-cni and the demo) or istio-cni (zds mode: the rules are istio-cni's, never touched).
 */
export type CaptureRules = 'own' | 'cni';

/** A pod this node must capture. */
export interface PodEntry {
  readonly uid: string;
  /**
   * The pod's netns as shown and compared: a netns file path (own-rules), or `inode N` of the held
   * fd (zds). A change of this value replaces the pod's proxy.
   */
  readonly netns: string;
  /** zds: the netns fd istio-cni handed over; owned by the source until it is released. */
  readonly netnsFd?: number;
  /**
   * zds: the pod as istio-cni names it; its workload is found in the state by these on this node
   * (ztunnel find_by_info). Absent: `uid` is the workload's uid in the state.
   */
  readonly workload?: ZdsWorkloadInfo;
  readonly rules: CaptureRules;
}

/**
 * A source of pods. Invariant: `current()` is a complete snapshot (not a delta), and `onChange`
 * fires after every change of that snapshot; InpodManager reconciles against it. A source never
 * replaces an entry by another with the same uid and netns (the registry keeps the first).
 */
export interface PodSource {
  current(): PodEntry[];
  /** Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Whether `w` is served in-pod (the host proxy leaves it out); absent: it has a `netns` on this node. */
  covers?(w: Workload): boolean;
  /** The registry is done with `entry` (no runner of it exists any more): its resources may go. */
  release?(entry: PodEntry): void;
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
      .map((w) => ({ uid: w.uid, netns: w.netns, rules: 'own' }));
  }

  onChange(listener: () => void): () => void {
    return this.state.onChange((c) => {
      if (c.workloadsChanged) listener();
    });
  }
}
