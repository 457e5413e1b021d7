// Writes the Gateway API status the translation computes (per parent: Accepted, ResolvedRefs,
// PartiallyInvalid, ResolvedWaypoints) onto HTTPRoutes, GRPCRoutes and TCPRoutes in the cluster, as
// istiod's status controller does, without touching other controllers' entries.
//
// Invariants: only `status.parents[]` entries whose controllerName is one of ours are replaced or
// removed (a route that no longer has a parent of ours loses our entries); entries of other
// controllers are kept as read. Preconditions, conflict retries, no regression of a newer
// observedGeneration and "nothing written in a steady state" are StatusPatchQueue's.

import type { Logger } from '../common/log.js';
import type { ObjectSnapshot } from '../k8s/index.js';
import { StatusPatchQueue, withoutTimes, type StatusPatcher, type StatusPlan, type StoredCondition } from './status-patch-queue.js';
import { STATUS_KINDS, type RouteParentStatus, type RouteStatus } from './translate/index.js';

export { CONFLICT_RETRY_MS, type StatusKind, type StatusPatcher } from './status-patch-queue.js';

interface StoredParent {
  readonly controllerName?: string;
  readonly [key: string]: unknown;
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

export class RouteStatusWriter {
  private readonly controllers: ReadonlySet<string>;
  private readonly queue: StatusPatchQueue;

  constructor(patch: StatusPatcher, logger: Logger, controllers: readonly string[]) {
    this.controllers = new Set(controllers);
    this.queue = new StatusPatchQueue(patch, logger, 'route');
  }

  /** Nothing to start: writes begin with the first update(). */
  start(): void {}

  /**
   * Brings every route's status in line with `statuses` (computed from `snapshot`; a route of
   * STATUS_KINDS not listed gets no entry of ours). Writes run one batch at a time; a newer call
   * while one runs replaces any batch still waiting.
   */
  update(snapshot: ObjectSnapshot, statuses: readonly RouteStatus[]): void {
    this.queue.update((now) => this.plans(snapshot, statuses, now));
  }

  /** Takes no more updates, drops a waiting batch, lets the running one finish (at most `deadlineMs`). */
  close(deadlineMs = 5_000): Promise<void> {
    return this.queue.close(deadlineMs);
  }

  /** Takes no more updates; a patch in flight is left to its own timeout, nothing follows it. */
  destroy(): void {
    this.queue.destroy();
  }

  private *plans(snapshot: ObjectSnapshot, statuses: readonly RouteStatus[], now: string): Iterable<StatusPlan> {
    const byKey = new Map(statuses.map((s) => [`${s.kind}/${s.namespace}/${s.name}`, s]));
    for (const kind of STATUS_KINDS) {
      for (const obj of snapshot.list(kind)) {
        const namespace = obj.metadata.namespace ?? '';
        const ours = byKey.get(`${kind}/${namespace}/${obj.metadata.name}`)?.parents ?? [];
        const current = ((obj as { status?: { parents?: StoredParent[] } }).status?.parents ?? []) as readonly StoredParent[];
        const parents = desiredParents(ours, current, this.controllers, now);
        yield {
          kind,
          namespace,
          name: obj.metadata.name,
          generation: obj.metadata.generation ?? 0,
          resourceVersion: obj.metadata.resourceVersion,
          observed: newestObserved(current, this.controllers),
          write: parents === undefined ? undefined : { status: { parents }, text: withoutTimes(parents) },
        };
      }
    }
  }
}
