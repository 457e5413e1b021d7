// Writes the status the translation computes for waypoint Gateways (class istio-waypoint) onto them
// in the cluster: addresses, Accepted/Programmed, and per listener supportedKinds, attachedRoutes
// and conditions — what `kubectl get gateway` (ADDRESS, PROGRAMMED) and `kubectl describe` show.
//
// Invariants: only the condition types we set (GATEWAY_CONDITION_TYPES, LISTENER_CONDITION_TYPES)
// are replaced; other conditions on the Gateway or a listener are kept where they are, as istiod's
// setConditions does. Listeners no longer in spec are pruned (istiod too). `addresses` is written
// only when the translation has some; otherwise the Gateway keeps what it holds (istiod never
// removes an address it reported). Gateways of other classes are never touched. Preconditions,
// conflict retries, no regression of a newer observedGeneration and "nothing written in a steady
// state" are StatusPatchQueue's.

import type { Logger } from '../common/log.js';
import type { ObjectSnapshot } from '../k8s/index.js';
import { StatusPatchQueue, withoutTimes, type StatusPatcher, type StatusPlan, type StoredCondition } from './status-patch-queue.js';
import { GATEWAY_CONDITION_TYPES, LISTENER_CONDITION_TYPES, type GatewayCondition, type GatewayStatus } from './translate/index.js';

interface StoredListener {
  readonly name?: string;
  readonly conditions?: readonly StoredCondition[];
  readonly [key: string]: unknown;
}

/** The part of a Gateway's status this writer reads. */
export interface StoredGatewayStatus {
  readonly addresses?: readonly unknown[];
  readonly conditions?: readonly StoredCondition[];
  readonly listeners?: readonly StoredListener[];
  readonly [key: string]: unknown;
}

/**
 * `current` with the conditions of `owned` types replaced by `ours` in place (a new one appended),
 * others kept; lastTransitionTime kept while a condition's status and reason hold.
 */
function mergeConditions(ours: readonly GatewayCondition[], current: readonly StoredCondition[], owned: readonly string[], now: string): unknown[] {
  const timed = (c: GatewayCondition): StoredCondition => {
    const old = current.find((o) => o.type === c.type);
    const same = old !== undefined && old.status === c.status && old.reason === c.reason && old.lastTransitionTime !== undefined;
    return { ...c, lastTransitionTime: same ? old.lastTransitionTime : now };
  };
  const out: unknown[] = [];
  const placed = new Set<string>();
  for (const c of current) {
    const mine = c.type !== undefined && owned.includes(c.type) ? ours.find((o) => o.type === c.type) : undefined;
    if (mine !== undefined) {
      out.push(timed(mine));
      placed.add(mine.type);
    } else if (c.type === undefined || !owned.includes(c.type)) {
      out.push(c);
    } // an owned type we no longer set is dropped
  }
  for (const c of ours) if (!placed.has(c.type)) out.push(timed(c));
  return out;
}

/**
 * The status to merge-patch onto a Gateway holding `current`, or undefined if it holds exactly that
 * already (lastTransitionTime and key order aside).
 */
export function desiredGatewayStatus(ours: GatewayStatus, current: StoredGatewayStatus | undefined, now: string): Record<string, unknown> | undefined {
  const cur = current ?? {};
  const listeners = ours.listeners.map((l) => {
    const before = cur.listeners?.find((x) => x.name === l.name);
    return {
      name: l.name,
      supportedKinds: l.supportedKinds,
      attachedRoutes: l.attachedRoutes,
      conditions: mergeConditions(l.conditions, before?.conditions ?? [], LISTENER_CONDITION_TYPES, now),
    };
  });
  const next: Record<string, unknown> = {
    ...(ours.addresses !== undefined ? { addresses: ours.addresses } : {}),
    conditions: mergeConditions(ours.conditions, cur.conditions ?? [], GATEWAY_CONDITION_TYPES, now),
    listeners,
  };
  const held = { addresses: cur.addresses, conditions: cur.conditions ?? [], listeners: cur.listeners ?? [] };
  const wanted = { addresses: ours.addresses ?? cur.addresses, conditions: next['conditions'], listeners };
  return withoutTimes(wanted) === withoutTimes(held) ? undefined : next;
}

/** The newest observedGeneration among the conditions we own, on the Gateway and its listeners (0 when none). */
export function newestObservedGateway(current: StoredGatewayStatus | undefined): number {
  let max = 0;
  const scan = (conditions: readonly StoredCondition[] | undefined, owned: readonly string[]): void => {
    for (const c of conditions ?? []) if (c.type !== undefined && owned.includes(c.type)) max = Math.max(max, c.observedGeneration ?? 0);
  };
  scan(current?.conditions, GATEWAY_CONDITION_TYPES);
  for (const l of current?.listeners ?? []) scan(l.conditions, LISTENER_CONDITION_TYPES);
  return max;
}

export class GatewayStatusWriter {
  private readonly queue: StatusPatchQueue;

  constructor(patch: StatusPatcher, logger: Logger) {
    this.queue = new StatusPatchQueue(patch, logger, 'gateway');
  }

  /** Nothing to start: writes begin with the first update(). */
  start(): void {}

  /**
   * Brings the status of every Gateway in `statuses` (computed from `snapshot`) in line with it; a
   * Gateway not listed (another class) is left alone. One batch at a time, the newest call wins.
   */
  update(snapshot: ObjectSnapshot, statuses: readonly GatewayStatus[]): void {
    this.queue.update((now) => plans(snapshot, statuses, now));
  }

  /** Takes no more updates, drops a waiting batch, lets the running one finish (at most `deadlineMs`). */
  close(deadlineMs = 5_000): Promise<void> {
    return this.queue.close(deadlineMs);
  }

  /** Takes no more updates; a patch in flight is left to its own timeout, nothing follows it. */
  destroy(): void {
    this.queue.destroy();
  }
}

function* plans(snapshot: ObjectSnapshot, statuses: readonly GatewayStatus[], now: string): Iterable<StatusPlan> {
  for (const ours of statuses) {
    const gw = snapshot.get('Gateway', ours.namespace, ours.name);
    if (gw === undefined) continue;
    const current = (gw as { status?: StoredGatewayStatus }).status;
    const status = desiredGatewayStatus(ours, current, now);
    yield {
      kind: 'Gateway',
      namespace: ours.namespace,
      name: ours.name,
      generation: gw.metadata.generation ?? 0,
      resourceVersion: gw.metadata.resourceVersion,
      observed: newestObservedGateway(current),
      write: status === undefined ? undefined : { status, text: withoutTimes(status) },
    };
  }
}
