// L7 authorization decision at the waypoint, per request (or TCP connection), after Istio's order
// (istio/api authorization_policy.proto): CUSTOM, then DENY, then ALLOW; AUDIT only marks; dry-run
// policies are evaluated the same way on the side and never enforced. Pure.

import type { AuthzPolicy } from '../model/security-model.js';
import { UNKNOWN, type Check, type Tri } from './authz-checks.js';
import { compilePolicy, type CompiledPolicy, type CompiledRule } from './authz-compile.js';
import type { AuthzRequest } from './authz-request.js';

export interface AuthzDecision {
  readonly allowed: boolean;
  /** Envoy response flags of a denial: UAEX for CUSTOM (ext-authz unavailable), else none. */
  readonly flags: '-' | 'UAEX';
  /**
   * Envoy's response_code_details of a denial: `rbac_access_denied_matched_policy[ns[N]-policy[P]-rule[I]]`
   * for a DENY match, `rbac_access_denied_matched_policy[none]` when no ALLOW policy matched,
   * `ext_authz_error` for CUSTOM.
   */
  readonly details?: string;
  /** `namespace/name` of the denying policy; `none` when no ALLOW policy matched. */
  readonly policy?: string;
  /** `namespace/name` of the first AUDIT policy that matched. */
  readonly audit?: string;
  /** The decision the dry-run policies alone would have made (only when some apply). */
  readonly dryRun?: { readonly allowed: boolean; readonly policy?: string };
}

/** Policies that apply to one service, split by action, in `namespace/name` order. */
export interface ServicePolicies {
  readonly custom: readonly CompiledPolicy[];
  readonly deny: readonly CompiledPolicy[];
  readonly allow: readonly CompiledPolicy[];
  readonly audit: readonly CompiledPolicy[];
  readonly dryRun: ServicePolicies | undefined;
  readonly empty: boolean;
}

/**
 * Whether a rule matches. An UNKNOWN check (an attribute this request lacks — HTTP fields on a
 * TCP connection — or something that could not be parsed) counts as matching in a DENY policy, so
 * it denies more; an ALLOW/AUDIT rule holding any such field never matches, so it allows less
 * (istiod's TCP conversion and ztunnel's rule for attributes it cannot evaluate).
 */
export function ruleMatches(rule: CompiledRule, req: AuthzRequest, deny: boolean): boolean {
  if (!deny && (rule.unevaluable || (req.protocol === 'tcp' && rule.http))) return false;
  const ok = (t: Tri): boolean => (t === UNKNOWN ? deny : t);
  const all = (cs: readonly Check[]): boolean => cs.every((c) => ok(c(req)));
  if (rule.from.length > 0 && !rule.from.some(all)) return false;
  if (rule.to.length > 0 && !rule.to.some(all)) return false;
  return all(rule.when);
}

/** Index of the first matching rule, or -1. No rules ⇒ never matches. */
function firstMatch(p: CompiledPolicy, req: AuthzRequest, deny: boolean): number {
  for (const r of p.rules) if (ruleMatches(r, req, deny)) return r.index;
  return -1;
}

function split(list: readonly CompiledPolicy[], withDryRun: boolean): ServicePolicies {
  const enforced = list.filter((p) => !p.source.dryRun);
  const shadow = list.filter((p) => p.source.dryRun === true);
  const by = (a: AuthzPolicy['action']): CompiledPolicy[] => enforced.filter((p) => p.source.action === a);
  return {
    custom: by('CUSTOM'),
    deny: by('DENY'),
    allow: by('ALLOW'),
    audit: by('AUDIT'),
    dryRun: withDryRun && shadow.length > 0 ? split(shadow.map((p) => ({ ...p, source: { ...p.source, dryRun: false } })), false) : undefined,
    empty: list.length === 0,
  };
}

function decide(sp: ServicePolicies, req: AuthzRequest): Omit<AuthzDecision, 'audit' | 'dryRun'> {
  // CUSTOM (ext-authz) is not supported: its targets fail closed, as Envoy's ext_authz does when
  // the authorization service cannot be reached (failure_mode_allow false ⇒ 403, flag UAEX).
  const custom = sp.custom[0];
  if (custom !== undefined) return { allowed: false, flags: 'UAEX', details: 'ext_authz_error', policy: custom.key };
  for (const p of sp.deny) {
    const i = firstMatch(p, req, true);
    if (i >= 0) return { allowed: false, flags: '-', details: `rbac_access_denied_matched_policy[${p.envoyName}-rule[${i}]]`, policy: p.key };
  }
  if (sp.allow.length === 0) return { allowed: true, flags: '-' };
  for (const p of sp.allow) if (firstMatch(p, req, false) >= 0) return { allowed: true, flags: '-' };
  return { allowed: false, flags: '-', details: 'rbac_access_denied_matched_policy[none]', policy: 'none' };
}

export function evaluateAuthz(sp: ServicePolicies, req: AuthzRequest): AuthzDecision {
  if (sp.empty) return { allowed: true, flags: '-' };
  const d = decide(sp, req);
  const audit = sp.audit.find((p) => firstMatch(p, req, false) >= 0)?.key;
  const shadow = sp.dryRun === undefined ? undefined : decide(sp.dryRun, req);
  return {
    ...d,
    ...(audit !== undefined ? { audit } : {}),
    ...(shadow !== undefined ? { dryRun: { allowed: shadow.allowed, ...(shadow.policy !== undefined ? { policy: shadow.policy } : {}) } } : {}),
  };
}

/** All policies of a config, compiled once; the per-service selection is memoized. */
export class AuthzTable {
  private readonly compiled: readonly CompiledPolicy[];
  private readonly byService = new Map<string, ServicePolicies>();

  constructor(policies: readonly AuthzPolicy[]) {
    this.compiled = policies.map(compilePolicy);
  }

  get size(): number {
    return this.compiled.length;
  }

  /** Policies for `namespace/hostname`: the waypoint-wide ones and those naming the service. */
  forService(key: string): ServicePolicies {
    let sp = this.byService.get(key);
    if (sp === undefined) {
      sp = split(this.compiled.filter((p) => p.source.services === undefined || p.source.services.includes(key)), true);
      this.byService.set(key, sp);
    }
    return sp;
  }
}
