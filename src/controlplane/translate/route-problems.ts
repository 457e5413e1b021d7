// A route's translation problems sorted into what Gateway API route status reports: dropped rules
// (PartiallyInvalid, or Accepted=False when none is left) and unresolved references (ResolvedRefs).
//
// Convention of the route compilers (http-/grpc-/tcp-route-compile.ts, route-filters.ts,
// route-action.ts, route-timeouts.ts): a problem's reason starts with the Gateway API condition
// reason it stands for (`UnsupportedValue: ...`, `BackendNotFound: ...`), and its field path names
// the rule (`spec.rules[2]...`). Which rules were dropped is not read from the text: it is the rules
// that produced no model route (RouteReport.rules).

import type { RouteReport } from './route-findings.js';
import type { TranslationError } from './types.js';

/** Accepted=False reasons a dropped rule can carry (apis/v1 RouteConditionReason). */
export type RuleReason = 'UnsupportedValue' | 'IncompatibleFilters';
/** ResolvedRefs=False reasons (apis/v1 RouteConditionReason). */
export type RefReason = 'RefNotPermitted' | 'InvalidKind' | 'BackendNotFound' | 'UnsupportedProtocol';

const RULE_REASONS: ReadonlySet<string> = new Set<RuleReason>(['UnsupportedValue', 'IncompatibleFilters']);
const REF_REASONS: ReadonlySet<string> = new Set<RefReason>(['RefNotPermitted', 'InvalidKind', 'BackendNotFound', 'UnsupportedProtocol']);

export interface DroppedRule {
  /** Index in spec.rules. */
  readonly rule: number;
  readonly reason: RuleReason;
  /** `field: why` of each problem that dropped it. */
  readonly details: readonly string[];
}

export interface UnresolvedRef {
  readonly reason: RefReason;
  /** `field: why`. */
  readonly detail: string;
}

export interface RouteRuleFacts {
  readonly total: number;
  /** In rule order. */
  readonly dropped: readonly DroppedRule[];
  /** In the order reported (rule order). */
  readonly refs: readonly UnresolvedRef[];
}

/** The reason code a problem's text starts with, and the rest. */
export function splitReason(reason: string): { code: string | undefined; text: string } {
  const m = /^([A-Z][A-Za-z]+): ([\s\S]*)$/.exec(reason);
  return m ? { code: m[1]!, text: m[2]! } : { code: undefined, text: reason };
}

/** Index of the rule a field path is in (`spec.rules[3].filters[0]` → 3). */
export function ruleOf(field: string): number | undefined {
  const m = /^spec\.rules\[(\d+)\]/.exec(field);
  return m ? Number(m[1]) : undefined;
}

const detailOf = (p: TranslationError, text: string): string => `${p.field}: ${text.replace(/; rule dropped$/, '')}`;

export function ruleFacts(report: RouteReport): RouteRuleFacts {
  const { total, kept } = report.rules;
  const dropped: DroppedRule[] = [];
  for (let i = 0; i < total; i++) {
    if (kept.has(i)) continue;
    const causes: { reason: RuleReason; detail: string }[] = [];
    for (const p of report.problems) {
      if (p.severity !== 'error' || ruleOf(p.field) !== i) continue;
      const { code, text } = splitReason(p.reason);
      if (code !== undefined && RULE_REASONS.has(code)) causes.push({ reason: code as RuleReason, detail: detailOf(p, text) });
    }
    // A problem about the rules list as a whole (a TCPRoute uses only its first rule).
    if (causes.length === 0) {
      for (const p of report.problems) if (p.field === 'spec.rules') causes.push({ reason: 'UnsupportedValue', detail: detailOf(p, splitReason(p.reason).text) });
    }
    dropped.push({
      rule: i,
      reason: causes[0]?.reason ?? 'UnsupportedValue',
      details: causes.length > 0 ? causes.map((c) => c.detail) : [`spec.rules[${i}]: could not be translated`],
    });
  }
  const refs: UnresolvedRef[] = [];
  for (const p of report.problems) {
    const { code, text } = splitReason(p.reason);
    if (code !== undefined && REF_REASONS.has(code)) refs.push({ reason: code as RefReason, detail: detailOf(p, text) });
  }
  return { total, dropped, refs };
}
