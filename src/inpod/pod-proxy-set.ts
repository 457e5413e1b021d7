// A worker thread's share of in-pod capture: one PodProxy per pod the main thread told it about,
// listening on the pod's ports with SO_REUSEPORT next to the other workers' (the rules are main's).

import type { Logger } from '../common/log.js';
import type { Workload } from '../state/index.js';
import type { PodProxyInputs } from './pod-proxy.js';
import { PodProxy } from './pod-proxy.js';
import type { IpFamily } from './redirect-rule-set.js';
import type { ZdsWorkloadInfo } from './zds-codec.js';

/** A pod as the main thread hands it to the workers, once its redirect rules are in place. */
export interface SharedPodSpec {
  readonly uid: string;
  /** The netns file, or (with `netnsFd`) how the netns is shown and compared. */
  readonly netns: string;
  /** zds: the pod's netns fd, held open by the main thread (fds are per process, not per thread). */
  readonly netnsFd?: number;
  /** zds: how the pod's workload is found in the state. */
  readonly workload?: ZdsWorkloadInfo;
  /** IP families the rules cover: decides whether the listeners are dual-stack. */
  readonly families: readonly IpFamily[];
}

export type PodProxySetInputs = Omit<PodProxyInputs, 'uid' | 'netns' | 'netnsFd' | 'workload' | 'sharedCapture'>;

/**
 * Invariant: at most one PodProxy per uid; a uid leaves the map before its proxy is closed, so a
 * concurrent remove or close never closes the same proxy twice and never waits on a removed one.
 */
export class PodProxySet {
  private readonly pods = new Map<string, { readonly spec: SharedPodSpec; readonly proxy: PodProxy }>();
  private closed = false;

  constructor(private readonly inputs: PodProxySetInputs) {}

  /** Starts the pod's listeners; a pod already present with the same netns is left as it is. */
  async add(spec: SharedPodSpec): Promise<void> {
    if (this.closed) throw new Error('pod proxies are closing');
    const held = this.pods.get(spec.uid);
    if (held && held.spec.netns === spec.netns) return;
    if (held) await this.remove(spec.uid);
    const logger: Logger = this.inputs.logger.child({ pod: spec.uid });
    const proxy = new PodProxy({
      ...this.inputs,
      logger,
      uid: spec.uid,
      netns: spec.netns,
      netnsFd: spec.netnsFd,
      workload: spec.workload,
      sharedCapture: { families: spec.families },
    });
    const entry = { spec, proxy };
    this.pods.set(spec.uid, entry);
    try {
      await proxy.start();
    } catch (err) {
      if (this.pods.get(spec.uid) === entry) this.pods.delete(spec.uid);
      throw err;
    }
    // Removed while it was starting: listeners opened after the remover's teardown must go too.
    if (this.pods.get(spec.uid) !== entry) await proxy.destroy();
  }

  /** Graceful when `deadlineMs` is given (stop accepting, drain, cut), immediate otherwise. */
  async remove(uid: string, deadlineMs?: number): Promise<void> {
    const entry = this.pods.get(uid);
    if (!entry) return;
    this.pods.delete(uid);
    await (deadlineMs === undefined ? entry.proxy.destroy() : entry.proxy.close(deadlineMs));
  }

  get size(): number {
    return this.pods.size;
  }

  get activeConnections(): number {
    let n = 0;
    for (const { proxy } of this.pods.values()) n += proxy.activeConnections;
    return n;
  }

  uids(): string[] {
    return [...this.pods.keys()];
  }

  /** Whether `w` is a pod this set serves that istio-cni named by workload info (zds); `nodeName`: this node. */
  coversNamed(w: Workload, nodeName: string): boolean {
    if (w.node !== nodeName) return false;
    for (const { spec } of this.pods.values()) {
      const i = spec.workload;
      if (i && i.name === w.name && i.namespace === w.namespace && i.serviceAccount === w.serviceAccount) return true;
    }
    return false;
  }

  /** Every pod left drains up to the deadline in parallel. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.uids().map((uid) => this.remove(uid, deadlineMs)));
  }

  async destroy(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.uids().map((uid) => this.remove(uid)));
  }
}
