// Writes the Gateway API status the translation computes (Accepted / ResolvedRefs per parent) onto
// HTTPRoutes in the cluster, as istiod's status controller does, without touching other controllers'.
//
// Invariants: only `status.parents[]` entries whose controllerName is one of ours are replaced;
// entries of other controllers are kept as read from the current object. A route is patched only
// when what we would write differs from what it holds and from what we last wrote to it (the
// watch may not have delivered our own write yet), so a steady state writes nothing.

import type { Logger } from '../common/log.js';
import type { ObjectSnapshot } from '../k8s/index.js';
import type { HttpRouteStatus, RouteParentStatus } from './translate/index.js';

/** Patches `status` of one object (ClusterSource.writeStatus: a JSON merge patch on /status). */
export type StatusPatcher = (kind: 'HTTPRoute', namespace: string, name: string, status: unknown) => Promise<unknown>;

interface StoredParent {
  readonly controllerName?: string;
  readonly [key: string]: unknown;
}

/** `lastTransitionTime` is required by the schema; keep the old one when a condition did not change. */
function withTransitionTimes(ours: readonly RouteParentStatus[], current: readonly StoredParent[], now: string): unknown[] {
  return ours.map((p) => {
    const before = current.find((c) => c.controllerName === p.controllerName && JSON.stringify(c['parentRef']) === JSON.stringify(p.parentRef));
    const oldConditions = (before?.['conditions'] as Array<Record<string, unknown>> | undefined) ?? [];
    return {
      parentRef: p.parentRef,
      controllerName: p.controllerName,
      conditions: p.conditions.map((c) => {
        const old = oldConditions.find((o) => o['type'] === c.type);
        const same = old !== undefined && old['status'] === c.status && old['reason'] === c.reason;
        return { ...c, lastTransitionTime: same ? old['lastTransitionTime'] : now };
      }),
    };
  });
}

/** The parents list to write, or undefined if the route already holds exactly our entries. */
export function desiredParents(route: HttpRouteStatus, current: readonly StoredParent[], controllers: ReadonlySet<string>, now: string): unknown[] | undefined {
  const others = current.filter((c) => c.controllerName === undefined || !controllers.has(c.controllerName));
  const ours = withTransitionTimes(route.parents, current, now);
  const next = [...others, ...ours];
  return withoutTimes(next) === withoutTimes(current) ? undefined : next;
}

/** A parents list as text without lastTransitionTime, for "would this write change anything". */
function withoutTimes(list: readonly unknown[]): string {
  return JSON.stringify(list, (k, v: unknown) => (k === 'lastTransitionTime' ? undefined : v));
}

export class RouteStatusWriter {
  private readonly controllers: ReadonlySet<string>;
  private running = false;
  private queued: { snapshot: ObjectSnapshot; statuses: readonly HttpRouteStatus[] } | undefined;
  /** `ns/name` → the parents we last wrote (without times), until the watch shows them. */
  private readonly lastWritten = new Map<string, string>();

  constructor(
    private readonly patch: StatusPatcher,
    private readonly logger: Logger,
    controllers: readonly string[],
  ) {
    this.controllers = new Set(controllers);
  }

  /**
   * Brings every route's status in line with `statuses` (computed from `snapshot`). Writes run one
   * batch at a time; a newer call while one runs replaces any batch still waiting.
   */
  update(snapshot: ObjectSnapshot, statuses: readonly HttpRouteStatus[]): void {
    this.queued = { snapshot, statuses };
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queued) {
        const { snapshot, statuses } = this.queued;
        this.queued = undefined;
        const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
        for (const route of statuses) {
          const obj = snapshot.get('HTTPRoute', route.namespace, route.name);
          if (!obj) continue;
          const current = ((obj as { status?: { parents?: StoredParent[] } }).status?.parents ?? []) as readonly StoredParent[];
          const key = `${route.namespace}/${route.name}`;
          const parents = desiredParents(route, current, this.controllers, now);
          if (parents === undefined || this.lastWritten.get(key) === withoutTimes(parents)) continue;
          try {
            await this.patch('HTTPRoute', route.namespace, route.name, { parents });
            this.lastWritten.set(key, withoutTimes(parents));
            this.logger.debug({ route: `${route.namespace}/${route.name}` }, 'HTTPRoute status written');
          } catch (err) {
            this.lastWritten.delete(key);
            this.logger.warn({ route: `${route.namespace}/${route.name}`, err: (err as Error).message }, 'cannot write HTTPRoute status; will retry on the next change');
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}
