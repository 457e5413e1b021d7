// Pure L4 authorization, evaluated exactly as ztunnel's `rbac.rs` + `assert_rbac` do: DENY before
// ALLOW, dry-run policies only annotate, and the empty-rule / empty-match edge cases preserved.

import type { Authorization, RbacMatch, StringMatch, ServiceAccountMatch } from '../state/types.js';
import { cidrContains, parseCidr, parseIp, type IpBytes } from './ip-cidr.js';

/** The SPIFFE identity of a peer, split into its parts (`spiffe://<td>/ns/<ns>/sa/<sa>`). */
export interface RbacIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface RbacConnection {
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstIp: string;
  /** The resolved target port on the destination workload (not the service port). */
  readonly dstPort: number;
  /** Peer identity from mTLS; undefined for plaintext (15006). */
  readonly srcIdentity: RbacIdentity | undefined;
}

/**
 * The verdict and what decided it. `decidedBy` / `rule`: the enforced policy whose rule `rule`
 * (index in `rules`) matched first: the DENY that denied, or the first ALLOW that allowed. Absent
 * when no policy decided: allowed because no ALLOW policy applies, or denied because ALLOW
 * policies exist and none matched. Diagnostics (`ambit ctl explain`) read them; the data path
 * only reads `allowed` and `reason`, and filling them allocates nothing.
 */
export type RbacDecision =
  | { readonly allowed: true; readonly dryRunNotes: string[]; readonly decidedBy?: Authorization; readonly rule?: number }
  | {
      readonly allowed: false;
      readonly reason: string;
      readonly policy?: string;
      readonly decidedBy?: Authorization;
      readonly rule?: number;
      readonly dryRunNotes: string[];
    };

/** Per-connection attributes derived once, then shared by every policy evaluated. */
interface Subject {
  readonly src: IpBytes | undefined;
  readonly dst: IpBytes | undefined;
  readonly port: number;
  readonly identity: RbacIdentity | undefined;
  /** Principal without `spiffe://`, or undefined with no identity (then no principal matches). */
  readonly principal: string | undefined;
  /** Identity namespace, '' without identity. */
  readonly namespace: string;
}

/** Fields are derived on first use: most policies never look at the addresses or the principal. */
class LazySubject implements Subject {
  private srcBytes: IpBytes | undefined | null = null;
  private dstBytes: IpBytes | undefined | null = null;
  private principalText: string | undefined | null = null;
  readonly port: number;
  readonly identity: RbacIdentity | undefined;
  readonly namespace: string;

  constructor(private readonly conn: RbacConnection) {
    this.port = conn.dstPort;
    this.identity = conn.srcIdentity;
    this.namespace = conn.srcIdentity?.namespace ?? '';
  }

  get src(): IpBytes | undefined {
    if (this.srcBytes === null) this.srcBytes = parseIp(this.conn.srcIp);
    return this.srcBytes;
  }

  get dst(): IpBytes | undefined {
    if (this.dstBytes === null) this.dstBytes = parseIp(this.conn.dstIp);
    return this.dstBytes;
  }

  get principal(): string | undefined {
    if (this.principalText === null) {
      const id = this.identity;
      this.principalText = id === undefined ? undefined : `${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
    }
    return this.principalText;
  }
}

function subjectOf(conn: RbacConnection): Subject {
  return new LazySubject(conn);
}

export function stringMatches(m: StringMatch, value: string): boolean {
  switch (m.kind) {
    case 'exact':
      return value === m.value;
    case 'prefix':
      return value.startsWith(m.value);
    case 'suffix':
      return value.endsWith(m.value);
    case 'presence':
      return value !== '';
    default: {
      const never: never = m;
      return never;
    }
  }
}

/** A field group passes when (no positives or any positive matches) and no negative matches. */
function group<T>(positive: readonly T[], negative: readonly T[], pred: (v: T) => boolean): boolean {
  if (positive.length > 0 && !positive.some(pred)) return false;
  return negative.length === 0 || !negative.some(pred);
}

function isEmptyMatch(m: RbacMatch): boolean {
  return (
    m.namespaces.length === 0 &&
    m.notNamespaces.length === 0 &&
    m.principals.length === 0 &&
    m.notPrincipals.length === 0 &&
    m.serviceAccounts.length === 0 &&
    m.notServiceAccounts.length === 0 &&
    m.sourceIps.length === 0 &&
    m.notSourceIps.length === 0 &&
    m.destinationIps.length === 0 &&
    m.notDestinationIps.length === 0 &&
    m.destinationPorts.length === 0 &&
    m.notDestinationPorts.length === 0
  );
}

function matchOne(m: RbacMatch, s: Subject): boolean {
  // The address is read (and parsed, once) only when a CIDR is actually compared.
  const ipIn = (which: 'src' | 'dst') => (c: Parameters<typeof parseCidr>[0]) => {
    const ip = s[which];
    if (ip === undefined) return false;
    const net = parseCidr(c);
    return net !== undefined && cidrContains(net, ip);
  };
  const sa = (x: ServiceAccountMatch): boolean =>
    s.identity !== undefined && s.identity.namespace === x.namespace && s.identity.serviceAccount === x.serviceAccount;
  // With no identity the principal string is not even '' in ztunnel: the spiffe:// strip fails,
  // so no StringMatch (presence included) matches, and not_principals always passes.
  const principal = (x: StringMatch): boolean => s.principal !== undefined && stringMatches(x, s.principal);
  return (
    group(m.destinationIps, m.notDestinationIps, ipIn('dst')) &&
    group(m.sourceIps, m.notSourceIps, ipIn('src')) &&
    group(m.destinationPorts, m.notDestinationPorts, (p) => p === s.port) &&
    group(m.serviceAccounts, m.notServiceAccounts, sa) &&
    group(m.principals, m.notPrincipals, principal) &&
    group(m.namespaces, m.notNamespaces, (x) => stringMatches(x, s.namespace))
  );
}

/** Index of the first rule of `policy` matching the subject, or -1 (the policy does not match). */
function matchingRule(policy: Authorization, s: Subject): number {
  // MUST (ztunnel): a policy without rules never matches, so an empty ALLOW denies everything.
  for (let r = 0; r < policy.rules.length; r++) {
    const rule = policy.rules[r]!;
    let ruleMatch = true;
    for (const clause of rule) {
      // MUST: a clause with zero matches counts as matching; an all-empty Match is skipped, so a
      // clause holding only all-empty Matches does NOT match.
      let clauseMatch = clause.length === 0;
      for (const m of clause) {
        if (isEmptyMatch(m)) continue;
        if (matchOne(m, s)) {
          clauseMatch = true;
          break;
        }
      }
      if (!clauseMatch) {
        ruleMatch = false;
        break;
      }
    }
    // A rule with zero clauses matches everything.
    if (ruleMatch) return r;
  }
  return -1;
}

function policyMatchesSubject(policy: Authorization, s: Subject): boolean {
  return matchingRule(policy, s) >= 0;
}

/** Whether one policy matches the connection, ignoring its action and dry-run flag. */
export function policyMatches(policy: Authorization, conn: RbacConnection): boolean {
  return policyMatchesSubject(policy, subjectOf(conn));
}

function keyOf(p: Authorization): string {
  return `${p.namespace}/${p.name}`;
}

/**
 * Decides one connection against the policies already selected for its destination workload
 * (namespace + global + the workload's own keys, ztunnel src/state.rs assert_rbac). Order: dry-run
 * DENY (notes only), enforced DENY, dry-run ALLOW (notes only), then enforced ALLOW.
 */
export function authorize(policies: readonly Authorization[], conn: RbacConnection): RbacDecision {
  // No policy selects the destination (the common case): allowed, nothing to evaluate.
  if (policies.length === 0) return { allowed: true, dryRunNotes: [] };
  const s = subjectOf(conn);
  const dryRunNotes: string[] = [];
  const allow: Authorization[] = [];
  const dryAllow: Authorization[] = [];

  for (const p of policies) {
    if (p.action !== 'Deny') {
      (p.dryRun ? dryAllow : allow).push(p);
      continue;
    }
    if (p.dryRun && policyMatchesSubject(p, s)) dryRunNotes.push(`dry-run: deny policy match: ${keyOf(p)}`);
  }
  for (const p of policies) {
    if (p.action !== 'Deny' || p.dryRun) continue;
    const rule = matchingRule(p, s);
    if (rule >= 0) {
      const key = keyOf(p);
      return { allowed: false, reason: `explicitly denied by: ${key}`, policy: key, decidedBy: p, rule, dryRunNotes };
    }
  }
  if (dryAllow.length > 0) {
    const hit = dryAllow.find((p) => policyMatchesSubject(p, s));
    dryRunNotes.push(hit === undefined ? 'dry-run: no allow policies match' : `dry-run: allow policy match: ${keyOf(hit)}`);
  }
  if (allow.length === 0) return { allowed: true, dryRunNotes };
  for (const p of allow) {
    const rule = matchingRule(p, s);
    if (rule >= 0) return { allowed: true, decidedBy: p, rule, dryRunNotes };
  }
  return { allowed: false, reason: 'allow policies exist, but none allowed', dryRunNotes };
}
