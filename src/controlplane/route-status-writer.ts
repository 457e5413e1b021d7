// Writes the Gateway API status the translation computes (per parent: Accepted, ResolvedRefs,
// PartiallyInvalid, ResolvedWaypoints) onto HTTPRoutes, GRPCRoutes and TCPRoutes in the cluster, as
// istiod's status controller does, without touching other controllers' entries.
//
// Invariants: only `status.parents[]` entries whose controllerName is one of ours are replaced or
// removed (a route that no longer has a parent of ours loses our entries); entries of other
// controllers are kept as read. The patch carries the resourceVersion it was computed from, so a
// concurrent change (another controller's entry, a newer generation) fails it with 409 instead of
// being overwritten; the watch then brings the new object and a new translation. The batch is also
// retried after CONFLICT_RETRY_MS: if the object we hold still has the version that was refused,
// the change carried no content (the object store keeps the first of equal objects, so its
// resourceVersion can lag) and the write goes out without the precondition. Entries of ours
// observed at a newer generation than the object we hold are never regressed. A route is patched
// only when what we would write differs from what it holds (ignoring lastTransitionTime) and we did
// not already write exactly that onto this version of it, so a steady state writes nothing.

import type { Logger } from '../common/log.js';
import type { ObjectSnapshot } from '../k8s/index.js';
import { STATUS_KINDS, type RouteParentStatus, type RouteStatus } from './translate/index.js';

type StatusKind = (typeof STATUS_KINDS)[number];

/** After a 409, the batch is run again this much later. */
export const CONFLICT_RETRY_MS = 1_000;

/**
 * Patches `status` of one object (ClusterSource.writeStatus: a JSON merge patch on /status), with
 * `resourceVersion` as precondition when given (the API server answers 409 if it changed).
 */
export type StatusPatcher = (kind: StatusKind, namespace: string, name: string, status: unknown, resourceVersion?: string) => Promise<unknown>;

interface StoredParent {
  readonly controllerName?: string;
  readonly [key: string]: unknown;
}

interface StoredCondition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime?: string;
}

/** `lastTransitionTime` is required by the schema; keep the old one when a condition did not change. */
function withTransitionTimes(ours: readonly RouteParentStatus[], current: readonly StoredParent[], now: string): unknown[] {
  return ours.map((p) => {
    const before = current.find((c) => c.controllerName === p.controllerName && JSON.stringify(c['parentRef']) === JSON.stringify(p.parentRef));
    const oldConditions = (before?.['conditions'] as StoredCondition[] | undefined) ?? [];
    return {
      parentRef: p.parentRef,
      controllerName: p.controllerName,
      conditions: p.conditions.map((c) => {
        const old = oldConditions.find((o) => o.type === c.type);
        const same = old !== undefined && old.status === c.status && old.reason === c.reason;
        return { ...c, lastTransitionTime: same ? old.lastTransitionTime : now };
      }),
    };
  });
}

/**
 * The parents list to write — other controllers' entries as read, then ours — or undefined if the
 * route already holds exactly that (lastTransitionTime aside). `ours` empty removes our entries.
 */
export function desiredParents(ours: readonly RouteParentStatus[], current: readonly StoredParent[], controllers: ReadonlySet<string>, now: string): unknown[] | undefined {
  const others = current.filter((c) => c.controllerName === undefined || !controllers.has(c.controllerName));
  const next = [...others, ...withTransitionTimes(ours, current, now)];
  return withoutTimes(next) === withoutTimes(current) ? undefined : next;
}

/** The newest observedGeneration among our stored conditions (0 when none). */
export function newestObserved(current: readonly StoredParent[], controllers: ReadonlySet<string>): number {
  let max = 0;
  for (const p of current) {
    if (p.controllerName === undefined || !controllers.has(p.controllerName)) continue;
    for (const c of (p['conditions'] as StoredCondition[] | undefined) ?? []) max = Math.max(max, c.observedGeneration ?? 0);
  }
  return max;
}

/** A parents list as text without lastTransitionTime, for "would this write change anything". */
function withoutTimes(list: readonly unknown[]): string {
  return JSON.stringify(list, (k, v: unknown) => (k === 'lastTransitionTime' ? undefined : v));
}

export class RouteStatusWriter {
  private readonly controllers: ReadonlySet<string>;
  private running: Promise<void> | undefined;
  private closed = false;
  private queued: { snapshot: ObjectSnapshot; statuses: readonly RouteStatus[] } | undefined;
  /** `Kind/ns/name` → what we last wrote (without times) and the resourceVersion it was based on. */
  private readonly lastWritten = new Map<string, { readonly text: string; readonly basedOn: string | undefined }>();
  /** `Kind/ns/name` → the resourceVersion a conditional patch was refused for (409). */
  private readonly conflicted = new Map<string, string>();
  private last: { snapshot: ObjectSnapshot; statuses: readonly RouteStatus[] } | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly patch: StatusPatcher,
    private readonly logger: Logger,
    controllers: readonly string[],
  ) {
    this.controllers = new Set(controllers);
  }

  /** Nothing to start: writes begin with the first update(). */
  start(): void {}

  /**
   * Brings every route's status in line with `statuses` (computed from `snapshot`; a route of
   * STATUS_KINDS not listed gets no entry of ours). Writes run one batch at a time; a newer call
   * while one runs replaces any batch still waiting.
   */
  update(snapshot: ObjectSnapshot, statuses: readonly RouteStatus[]): void {
    if (this.closed) return;
    this.queued = { snapshot, statuses };
    this.last = this.queued;
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
      .catch((err: unknown) => this.logger.error({ err }, 'route status writer failed; will retry on the next change'))
      .finally(() => {
        this.running = undefined;
        this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.queued !== undefined && !this.closed) {
      const { snapshot, statuses } = this.queued;
      this.queued = undefined;
      await this.writeAll(snapshot, statuses);
    }
  }

  private async writeAll(snapshot: ObjectSnapshot, statuses: readonly RouteStatus[]): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const byKey = new Map(statuses.map((s) => [`${s.kind}/${s.namespace}/${s.name}`, s]));
    const present = new Set<string>();
    for (const kind of STATUS_KINDS) {
      for (const obj of snapshot.list(kind)) {
        if (this.closed) return;
        const namespace = obj.metadata.namespace ?? '';
        const key = `${kind}/${namespace}/${obj.metadata.name}`;
        present.add(key);
        const ours = byKey.get(key)?.parents ?? [];
        const current = ((obj as { status?: { parents?: StoredParent[] } }).status?.parents ?? []) as readonly StoredParent[];
        const parents = desiredParents(ours, current, this.controllers, now);
        if (parents === undefined) continue;
        const generation = obj.metadata.generation ?? 0;
        const observed = newestObserved(current, this.controllers);
        if (observed > generation) {
          this.logger.debug({ route: key, generation, observed }, 'route status already written for a newer generation; not regressed');
          continue;
        }
        const text = withoutTimes(parents);
        const basedOn = obj.metadata.resourceVersion;
        const last = this.lastWritten.get(key);
        // Our own write may not have come back through the watch yet.
        if (last !== undefined && last.text === text && last.basedOn === basedOn) continue;
        const precondition = basedOn !== undefined && this.conflicted.get(key) !== basedOn ? basedOn : undefined;
        try {
          await this.patch(kind, namespace, obj.metadata.name, { parents }, precondition);
          this.lastWritten.set(key, { text, basedOn });
          this.conflicted.delete(key);
          this.logger.debug({ route: key }, 'route status written');
        } catch (err) {
          this.lastWritten.delete(key);
          if ((err as { statusCode?: unknown }).statusCode === 409 && basedOn !== undefined) {
            this.conflicted.set(key, basedOn);
            this.logger.info({ route: key }, 'route changed while its status was written; writing again from its new version');
            this.retryLater();
          } else {
            this.logger.warn({ route: key, err: (err as Error).message }, 'cannot write route status; will retry on the next change');
          }
        }
      }
    }
    for (const key of this.lastWritten.keys()) if (!present.has(key)) this.lastWritten.delete(key);
    for (const key of this.conflicted.keys()) if (!present.has(key)) this.conflicted.delete(key);
  }
}
