// The pod registry and its proxies: follows a PodSource (the local config's `netns` in own-rules
// mode, istio-cni's ZDS in zds mode) and keeps exactly one runner per pod (a PodProxy on this event
// loop, or a RemotePod whose listeners live in the worker threads), retrying failed starts every 5 s.
//
// Invariant: starts, retries and removals run one at a time on one promise chain, so a pod is never
// started twice, and a pod's entry is released to its source (its netns fd closed) only once no
// runner of it exists or is being started.

import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import type { ErrorCounter } from '../metrics/index.js';
import type { Workload } from '../state/index.js';
import { isInpodWorkload, type PodEntry, type PodSource } from './pod-source.js';

/** ztunnel retries a failed in-pod proxy start every 5 s (src/inpod/workloadmanager.rs RETRY_DURATION). */
const RETRY_MS = 5_000;

/** What serves one pod. A failed start() has undone itself (rules, listeners) before rejecting. */
export interface PodRunner {
  start(): Promise<void>;
  /** Graceful: stop accepting, drain up to the deadline, then cut and remove the rules. */
  close(deadlineMs: number): Promise<void>;
  destroy(): Promise<void>;
}

export interface InpodManagerInputs {
  readonly config: Config;
  readonly errors: ErrorCounter;
  readonly logger: Logger;
  readonly pods: PodSource;
  /** Builds the runner of one pod; `logger` is already the pod's child logger. */
  readonly createPod: (entry: PodEntry, logger: Logger) => PodRunner;
  /** ztunnel's workload_manager_* metrics (the agent's WorkloadManagerMetrics). */
  readonly metrics?: {
    counts(active: number, pending: number): void;
    proxyStarted(): void;
    proxyStopped(): void;
  };
}

export type PodState = 'starting' | 'running' | 'retrying' | 'stopping';

/** A pod as the registry holds it (config dump, ZDS acks). */
export interface PodStatus {
  readonly uid: string;
  readonly netns: string;
  readonly state: PodState;
  /** Why the last start failed (state 'retrying'). */
  readonly error?: string;
}

interface PodSlot {
  readonly entry: PodEntry;
  proxy: PodRunner | undefined;
  state: PodState;
  error: string | undefined;
  retry: NodeJS.Timeout | undefined;
}

export class InpodManager {
  private readonly pods = new Map<string, PodSlot>();
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  /** Serialises reconciliations, retries and removals (see the invariant above). */
  private chain: Promise<void> = Promise.resolve();
  /** Resolvers of allRunning(), called once no pod is pending. */
  private settledWaiters: Array<() => void> = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly inputs: InpodManagerInputs) {}

  /** Whether `w` is served by an in-pod proxy (the host proxy leaves it out). */
  handles(w: Workload): boolean {
    const { pods, config } = this.inputs;
    return pods.covers ? pods.covers(w) : isInpodWorkload(w, config.nodeName);
  }

  async start(): Promise<void> {
    this.unsubscribe = this.inputs.pods.onChange(() => void this.reconcile());
    await this.reconcile();
  }

  /** Pods that are not running yet (readiness stays false while any is pending). */
  pending(): string[] {
    return [...this.pods.values()].filter((p) => p.state !== 'running').map((p) => p.entry.uid);
  }

  /**
   * Resolves once no pod is pending (at once if none is): the agent's readiness waits on this. A
   * pod that keeps failing keeps it pending, as ztunnel's readiness does.
   */
  allRunning(): Promise<void> {
    if (this.pending().length === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** `listener` runs after every change of a pod's state or of the set of pods. Returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Called after every change of a slot's state or of the set of slots. */
  private changed(): void {
    const pending = this.pending().length;
    this.inputs.metrics?.counts(this.pods.size - pending, pending);
    for (const l of [...this.listeners]) l();
    if (this.settledWaiters.length === 0 || this.pending().length > 0) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const w of waiters) w();
  }

  status(): PodStatus[] {
    return [...this.pods.values()].map((p) => this.statusOf(p));
  }

  /** One pod's status, or undefined when the registry does not hold it. */
  podStatus(uid: string): PodStatus | undefined {
    const slot = this.pods.get(uid);
    return slot ? this.statusOf(slot) : undefined;
  }

  private statusOf(p: PodSlot): PodStatus {
    return { uid: p.entry.uid, netns: p.entry.netns, state: p.state, ...(p.error ? { error: p.error } : {}) };
  }

  /** Follows the source; resolves once every pod added or removed by this pass has started (or failed once) or stopped. */
  reconcile(): Promise<void> {
    return this.enqueue(() => this.reconcileNow());
  }

  /** A pod whose start failed is started again now instead of at its next 5 s retry. */
  retryNow(uid: string): Promise<void> {
    return this.enqueue(async () => {
      const slot = this.pods.get(uid);
      if (!slot || slot.state !== 'retrying' || this.closed) return;
      if (slot.retry) clearTimeout(slot.retry);
      slot.retry = undefined;
      await this.startSlot(slot);
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((err: unknown) => this.inputs.logger.error({ err }, 'in-pod reconcile failed'));
    return this.chain;
  }

  private async reconcileNow(): Promise<void> {
    if (this.closed) return;
    const wanted = new Map(this.inputs.pods.current().map((p) => [p.uid, p]));
    for (const [uid, slot] of this.pods) {
      const want = wanted.get(uid);
      // A pod that left, or whose netns changed, is torn down (and re-added below if needed).
      if (!want || want.netns !== slot.entry.netns) await this.remove(uid);
    }
    for (const [uid, entry] of wanted) {
      if (!this.pods.has(uid)) await this.add(entry);
    }
  }

  private async add(entry: PodEntry): Promise<void> {
    const slot: PodSlot = { entry, proxy: undefined, state: 'starting', error: undefined, retry: undefined };
    this.pods.set(entry.uid, slot);
    this.changed();
    await this.startSlot(slot);
  }

  /** Runs on the chain only. */
  private async startSlot(slot: PodSlot): Promise<void> {
    const { logger } = this.inputs;
    const proxy = this.inputs.createPod(slot.entry, logger.child({ pod: slot.entry.uid }));
    try {
      await proxy.start();
    } catch (err) {
      slot.state = 'retrying';
      slot.error = (err as Error).message;
      this.inputs.errors.inc('inpod', (err as { code?: string }).code ?? 'POD_START');
      logger.error({ pod: slot.entry.uid, netns: slot.entry.netns, err: slot.error }, 'in-pod proxy failed to start; retrying in 5s');
      slot.retry = setTimeout(() => {
        slot.retry = undefined;
        void this.enqueue(async () => {
          if (this.pods.get(slot.entry.uid) === slot && slot.state === 'retrying' && !this.closed) await this.startSlot(slot);
        });
      }, RETRY_MS);
      slot.retry.unref();
      this.changed();
      return;
    }
    // Removed or closed while it was starting (destroy() does not wait for the chain): the
    // listeners opened after the teardown must go too.
    if (this.pods.get(slot.entry.uid) !== slot || this.closed) {
      await proxy.destroy();
      return;
    }
    slot.proxy = proxy;
    slot.state = 'running';
    slot.error = undefined;
    this.inputs.metrics?.proxyStarted();
    logger.info({ pod: slot.entry.uid, netns: slot.entry.netns }, 'in-pod proxy started');
    this.changed();
  }

  /** Runs on the chain only: immediate teardown (ztunnel shuts a deleted pod's proxy down at once). */
  private async remove(uid: string): Promise<void> {
    const slot = this.pods.get(uid);
    if (!slot) return;
    // The slot stays listed as 'stopping' until its listeners are closed and its rules removed,
    // so the config dump never claims a pod is gone while its capture is still in place.
    slot.state = 'stopping';
    if (slot.retry) clearTimeout(slot.retry);
    if (slot.proxy) {
      await slot.proxy.destroy();
      this.inputs.metrics?.proxyStopped();
    }
    if (this.pods.get(uid) === slot) this.pods.delete(uid);
    this.inputs.pods.release?.(slot.entry);
    this.inputs.logger.info({ pod: uid }, 'in-pod proxy removed');
    this.changed();
  }

  /** Graceful: every pod drains up to the deadline in parallel, then rules are removed. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await this.chain;
    await this.endAll((s) => s.proxy?.close(deadlineMs));
  }

  /** Immediate: every runner is destroyed now; entries are released once a start in flight has ended too. */
  async destroy(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await this.endAll((s) => s.proxy?.destroy());
  }

  private async endAll(end: (s: PodSlot) => Promise<void> | undefined): Promise<void> {
    const slots = [...this.pods.values()];
    this.pods.clear();
    this.changed();
    await Promise.allSettled(
      slots.map(async (s) => {
        if (s.retry) clearTimeout(s.retry);
        await end(s);
        if (s.proxy) this.inputs.metrics?.proxyStopped();
      }),
    );
    // A start in flight on the chain sees `closed` and destroys what it opened; only then may the
    // entries go (a netns fd must outlive every use).
    await this.chain;
    for (const s of slots) this.inputs.pods.release?.(s.entry);
  }
}
