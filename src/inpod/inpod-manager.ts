// The pod registry and its proxies: follows a PodSource (today the local config's `netns`; the ZDS
// source from istio-cni later) and keeps exactly one runner per pod (a PodProxy on this event loop,
// or a RemotePod whose listeners live in the worker threads), retrying failed starts every 5 s.

import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import type { ErrorCounter } from '../metrics/index.js';
import type { Workload } from '../state/index.js';
import { isInpodWorkload, type PodEntry, type PodSource } from './pod-source.js';

/** ztunnel retries a failed in-pod proxy start every 5 s. */
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
}

export type PodState = 'starting' | 'running' | 'retrying' | 'stopping';

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
  /** Serialises reconciliations so two config pushes never start the same pod twice. */
  private chain: Promise<void> = Promise.resolve();
  /** Resolvers of allRunning(), called once no pod is pending. */
  private settledWaiters: Array<() => void> = [];

  constructor(private readonly inputs: InpodManagerInputs) {}

  /** Whether `w` is served by an in-pod proxy (the host proxy leaves it out). */
  handles(w: Workload): boolean {
    return isInpodWorkload(w, this.inputs.config.nodeName);
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

  /** Called after every change of a slot's state or of the set of slots. */
  private notifyIfSettled(): void {
    if (this.settledWaiters.length === 0 || this.pending().length > 0) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const w of waiters) w();
  }

  status(): Array<{ uid: string; netns: string; state: PodState; error?: string }> {
    return [...this.pods.values()].map((p) => ({ uid: p.entry.uid, netns: p.entry.netns, state: p.state, ...(p.error ? { error: p.error } : {}) }));
  }

  reconcile(): Promise<void> {
    this.chain = this.chain.then(() => this.reconcileNow()).catch((err: unknown) => this.inputs.logger.error({ err }, 'in-pod reconcile failed'));
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
    await this.startSlot(slot);
  }

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
        if (this.pods.get(slot.entry.uid) === slot && slot.state === 'retrying' && !this.closed) void this.startSlot(slot);
      }, RETRY_MS);
      slot.retry.unref();
      return;
    }
    if (this.pods.get(slot.entry.uid) !== slot || slot.state === 'stopping' || this.closed) {
      await proxy.destroy();
      return;
    }
    slot.proxy = proxy;
    slot.state = 'running';
    slot.error = undefined;
    logger.info({ pod: slot.entry.uid, netns: slot.entry.netns }, 'in-pod proxy started');
    this.notifyIfSettled();
  }

  private async remove(uid: string): Promise<void> {
    const slot = this.pods.get(uid);
    if (!slot) return;
    // The slot stays listed as 'stopping' until its listeners are closed and its rules removed,
    // so the config dump never claims a pod is gone while its capture is still in place.
    slot.state = 'stopping';
    if (slot.retry) clearTimeout(slot.retry);
    await slot.proxy?.destroy();
    if (this.pods.get(uid) === slot) this.pods.delete(uid);
    this.inputs.logger.info({ pod: uid }, 'in-pod proxy removed');
    this.notifyIfSettled();
  }

  /** Graceful: every pod drains up to the deadline in parallel, then rules are removed. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await this.chain;
    const slots = [...this.pods.values()];
    this.pods.clear();
    await Promise.allSettled(slots.map((s) => {
      if (s.retry) clearTimeout(s.retry);
      return s.proxy?.close(deadlineMs);
    }));
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    const slots = [...this.pods.values()];
    this.pods.clear();
    await Promise.allSettled(slots.map((s) => {
      if (s.retry) clearTimeout(s.retry);
      return s.proxy?.destroy();
    }));
  }
}
