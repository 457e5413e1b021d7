// The conditions of one status.parents[] entry from what is known about the parent (attachment,
// waypoint, outcome per port) and the route's rules — pure, the rules of apis/v1 shared_types.go.
//
// Accepted: False with the parent's reason (NoMatchingParent, NotAllowedByListeners); else False
// when the route applies at none of the ports the parent selects (Conflicted, NotAllowedByListeners);
// else False when every rule was dropped (UnsupportedValue, IncompatibleFilters); else True — "a
// Route MUST be considered Accepted if at least one of the Route's rules is implemented".
// PartiallyInvalid: only ever True, only when Accepted is True and some rules were dropped, message
// starting "Dropped Rule" (the drop-rules approach; Ambit never falls back to an older generation).
// ResolvedRefs: False with the first unresolved reference's reason, every one listed.

import type { PortOutcome } from './route-findings.js';
import type { RouteRuleFacts } from './route-problems.js';

export type ConditionType = 'Accepted' | 'PartiallyInvalid' | 'ResolvedRefs' | 'ResolvedWaypoints';

export interface RouteCondition {
  readonly type: ConditionType;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration: number;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly message: string };
export const OK: Verdict = { ok: true };

export interface ParentFacts {
  /** Whether the parentRef names a parent that takes this route. */
  readonly attachment: Verdict;
  /** Istio's ResolvedWaypoints (Service parents); undefined: not written. */
  readonly waypoint?: Verdict;
  /** The outcome at each service port the parent selects at a waypoint; [] when none serves it. */
  readonly ports: readonly PortOutcome[];
}

/** Listed items per message; the rest are counted. */
const MAX_ITEMS = 8;
/** metav1.Condition allows 32768; a status is read by people, so keep it well below. */
const MAX_MESSAGE = 4096;

export const ACCEPTED_MESSAGE = 'Route was valid';
export const RESOLVED_MESSAGE = 'All references resolved';
export const WAYPOINTS_MESSAGE = 'All waypoints resolved';

/** Items joined with "; ", duplicates once, at most MAX_ITEMS then "and N more". */
export function joinItems(items: readonly string[]): string {
  const unique = [...new Set(items)];
  const shown = unique.slice(0, MAX_ITEMS).join('; ');
  return unique.length > MAX_ITEMS ? `${shown}; and ${unique.length - MAX_ITEMS} more` : shown;
}

const capped = (message: string): string => (message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message);

export function parentConditions(generation: number, parent: ParentFacts, rules: RouteRuleFacts): RouteCondition[] {
  const cond = (type: ConditionType, status: 'True' | 'False', reason: string, message: string): RouteCondition => ({
    type, status, reason, message: capped(message), observedGeneration: generation,
  });
  const out: RouteCondition[] = [];
  const notApplied = parent.ports.filter((p): p is Extract<PortOutcome, { applied: false }> => !p.applied);
  const allDropped = rules.total > 0 && rules.dropped.length === rules.total;
  let accepted = false;
  if (!parent.attachment.ok) {
    out.push(cond('Accepted', 'False', parent.attachment.reason, parent.attachment.message));
  } else if (parent.ports.length > 0 && notApplied.length === parent.ports.length) {
    out.push(cond('Accepted', 'False', notApplied[0]!.reason, joinItems(notApplied.map((p) => p.message))));
  } else if (allDropped) {
    out.push(cond('Accepted', 'False', rules.dropped[0]!.reason, `All rules dropped: ${joinItems(rules.dropped.flatMap((d) => d.details))}`));
  } else {
    accepted = true;
    // Ports lost to a conflict are worth a word even when the route applies elsewhere.
    const conflicts = notApplied.filter((p) => p.reason === 'Conflicted').map((p) => p.message);
    out.push(cond('Accepted', 'True', 'Accepted', conflicts.length > 0 ? `${ACCEPTED_MESSAGE}; not applied where it conflicts: ${joinItems(conflicts)}` : ACCEPTED_MESSAGE));
  }
  if (accepted && rules.dropped.length > 0) {
    const d = rules.dropped;
    const which = `Dropped Rule${d.length > 1 ? 's' : ''} ${d.map((x) => x.rule).join(', ')}`;
    out.push(cond('PartiallyInvalid', 'True', d[0]!.reason, `${which}: ${joinItems(d.flatMap((x) => x.details))}`));
  }
  if (rules.refs.length > 0) out.push(cond('ResolvedRefs', 'False', rules.refs[0]!.reason, joinItems(rules.refs.map((r) => r.detail))));
  else out.push(cond('ResolvedRefs', 'True', 'ResolvedRefs', RESOLVED_MESSAGE));
  if (parent.waypoint !== undefined) {
    const w = parent.waypoint;
    out.push(w.ok ? cond('ResolvedWaypoints', 'True', 'ResolvedWaypoints', WAYPOINTS_MESSAGE) : cond('ResolvedWaypoints', 'False', w.reason, w.message));
  }
  return out;
}
