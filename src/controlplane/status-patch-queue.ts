// Writes planned status patches to the cluster one batch at a time, the rules every status writer of
// `ambit control` follows (routes: RouteStatusWriter; waypoint Gateways: GatewayStatusWriter).
//
// Invariants: a patch carries the resourceVersion it was planned from, so a concurrent change
// (another controller's data, a newer generation) fails it with 409 instead of being overwritten;
// the watch then brings the new object and a new plan. The batch is also retried after
// CONFLICT_RETRY_MS: if the object we hold still has the version that was refused, the change
// carried no content (the object store keeps the first of equal objects, so its resourceVersion
// can lag) and the write goes out without the precondition. Our conditions observed at a newer
// generation than the object we hold are never regressed. An object is patched only when what we
// would write differs from what it holds (the planner says so) and we did not already write exactly
// that onto this version of it, so a steady state writes nothing.

import type { Logger } from '../common/log.js';
import type { RouteKind } from './translate/route-attachment.js';

export type StatusKind = RouteKind | 'Gateway';

/** After a 409, the batch is run again this much later. */
export const CONFLICT_RETRY_MS = 1_000;

/** A status condition as the API server stores it (metav1.Condition), other fields kept as they are. */
export interface StoredCondition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime?: string;
  readonly [key: string]: unknown;
}

/**
 * Patches `status` of one object (ClusterSource.writeStatus: a JSON merge patch on /status), with
 * `resourceVersion` as precondition when given (the API server answers 409 if it changed).
 */
export type StatusPatcher = (kind: StatusKind, namespace: string, name: string, status: unknown, resourceVersion?: string) => Promise<unknown>;

/** One object of the snapshot and what to write onto it. */
export interface StatusPlan {
  readonly kind: StatusKind;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly resourceVersion: string | undefined;
  /** The newest observedGeneration among our stored conditions (0 when none). */
  readonly observed: number;
  /** The `status` body to merge-patch and its text without times; undefined: it holds that already. */
  readonly write: { readonly status: unknown; readonly text: string } | undefined;
}

/** The plans of a batch, from the time the batch runs (lastTransitionTime of changed conditions). */
export type StatusPlanner = (now: string) => Iterable<StatusPlan>;

/**
 * A status as text without lastTransitionTime and with object keys sorted, for "would this write
 * change anything": the API server returns a custom resource's fields in its own (sorted) order,
 * not in the order they were written.
 */
export function withoutTimes(value: unknown): string {
  return JSON.stringify(value, (k, v: unknown) => {
    if (k === 'lastTransitionTime') return undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

export class StatusPatchQueue {
  private running: Promise<void> | undefined;
  private closed = false;
  private queued: StatusPlanner | undefined;
  private last: StatusPlanner | undefined;
  /** `Kind/ns/name` → what we last wrote (without times) and the resourceVersion it was based on. */
  private readonly lastWritten = new Map<string, { readonly text: string; readonly basedOn: string | undefined }>();
  /** `Kind/ns/name` → the resourceVersion a conditional patch was refused for (409). */
  private readonly conflicted = new Map<string, string>();
  private retryTimer: NodeJS.Timeout | undefined;

  /** `what` names the objects in logs ("route", "gateway"). */
  constructor(
    private readonly patch: StatusPatcher,
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  /** Runs `planner` as the next batch; a newer call while one runs replaces any batch still waiting. */
  update(planner: StatusPlanner): void {
    if (this.closed) return;
    this.queued = planner;
    this.last = planner;
    this.kick();
  }

  /** Takes no more updates, drops a waiting batch, lets the running one finish (at most `deadlineMs`). */
  async close(deadlineMs = 5_000): Promise<void> {
    this.destroy();
    if (this.running === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((r) => (timer = setTimeout(r, deadlineMs)))]);
    clearTimeout(timer);
  }

  /** Takes no more updates; a patch in flight is left to its own timeout, nothing follows it. */
  destroy(): void {
    this.closed = true;
    this.queued = undefined;
    clearTimeout(this.retryTimer);
  }

  /** Runs the latest batch again later (unless a newer one comes first, which it then is). */
  private retryLater(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.last !== undefined && this.queued === undefined) {
        this.queued = this.last;
        this.kick();
      }
    }, CONFLICT_RETRY_MS);
    this.retryTimer.unref();
  }

  private kick(): void {
    if (this.running !== undefined || this.closed || this.queued === undefined) return;
    this.running = this.drain()
      .catch((err: unknown) => this.logger.error({ err }, `${this.what} status writer failed; will retry on the next change`))
      .finally(() => {
        this.running = undefined;
        this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.queued !== undefined && !this.closed) {
      const planner = this.queued;
      this.queued = undefined;
      await this.writeAll(planner);
    }
  }

  private async writeAll(planner: StatusPlanner): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const present = new Set<string>();
    const what = this.what;
    for (const plan of planner(now)) {
      if (this.closed) return;
      const key = `${plan.kind}/${plan.namespace}/${plan.name}`;
      present.add(key);
      if (plan.write === undefined) continue;
      if (plan.observed > plan.generation) {
        this.logger.debug({ [what]: key, generation: plan.generation, observed: plan.observed }, `${what} status already written for a newer generation; not regressed`);
        continue;
      }
      const { status, text } = plan.write;
      const basedOn = plan.resourceVersion;
      const last = this.lastWritten.get(key);
      // Our own write may not have come back through the watch yet.
      if (last !== undefined && last.text === text && last.basedOn === basedOn) continue;
      const precondition = basedOn !== undefined && this.conflicted.get(key) !== basedOn ? basedOn : undefined;
      try {
        await this.patch(plan.kind, plan.namespace, plan.name, status, precondition);
        this.lastWritten.set(key, { text, basedOn });
        this.conflicted.delete(key);
        this.logger.debug({ [what]: key }, `${what} status written`);
      } catch (err) {
        this.lastWritten.delete(key);
        if ((err as { statusCode?: unknown }).statusCode === 409 && basedOn !== undefined) {
          this.conflicted.set(key, basedOn);
          this.logger.info({ [what]: key }, `${what} changed while its status was written; writing again from its new version`);
          this.retryLater();
        } else {
          this.logger.warn({ [what]: key, err: (err as Error).message }, `cannot write ${what} status; will retry on the next change`);
        }
      }
    }
    for (const key of this.lastWritten.keys()) if (!present.has(key)) this.lastWritten.delete(key);
    for (const key of this.conflicted.keys()) if (!present.has(key)) this.conflicted.delete(key);
  }
}
