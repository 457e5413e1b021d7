// One AuthorizationPolicy rule → the L4 rule node agents evaluate (istiod ambient authorization.go
// handleRule), including what happens to the HTTP-only parts ztunnel cannot see.

import { parseCidr, type Cidr, type PolicyAction, type RbacClause, type RbacMatch, type RbacRule, type ServiceAccountMatch, type StringMatch, type PolicyOperationFields, type PolicySourceFields } from '../../state/index.js';

/** The rule fields of security.istio.io AuthorizationPolicy as written (v1 schema, incl. serviceAccounts; ports are strings). */
export type SourceView = PolicySourceFields;
export type OperationView = PolicyOperationFields<string>;

export interface RuleView {
  readonly from?: readonly { readonly source?: SourceView }[];
  readonly to?: readonly { readonly operation?: OperationView }[];
  readonly when?: readonly { readonly key?: string; readonly values?: readonly string[]; readonly notValues?: readonly string[] }[];
}

/** `when` keys ztunnel evaluates; any other key is an HTTP attribute. */
export const L4_WHEN_KEYS = ['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port'] as const;

const HTTP_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
const HTTP_SOURCE_FIELDS = ['remoteIpBlocks', 'notRemoteIpBlocks', 'requestPrincipals', 'notRequestPrincipals'] as const;

export interface RuleResult {
  /** The rule's clauses (AND), or undefined when the rule is dropped (ALLOW with HTTP fields). */
  readonly rule: RbacRule | undefined;
  /** HTTP attribute names found (field names, or `when` keys). */
  readonly httpFields: readonly string[];
  /** Values istiod skips silently (unparseable port or IP), with the field path inside the rule. */
  readonly skipped: readonly { readonly field: string; readonly value: string }[];
}

export function emptyMatch(): RbacMatch {
  return {
    namespaces: [], notNamespaces: [], principals: [], notPrincipals: [],
    serviceAccounts: [], notServiceAccounts: [], sourceIps: [], notSourceIps: [],
    destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [],
  };
}

/**
 * handleRule. Clauses in istiod's order: one for all `to` entries (a match each), one for all
 * `from` entries, one per `when` condition. The HTTP parts are never translated:
 * - ALLOW: a rule holding any HTTP field is dropped whole, so it allows nothing; an ALLOW policy
 *   left with no rules denies every connection it applies to ("more restrictive than requested");
 * - DENY: only the HTTP fields are removed and the rest is kept, so the rule denies more.
 *   A `to` made only of HTTP fields, or an HTTP `when`, still yields its match, now all-empty;
 *   istiod sends it that way. (ztunnel skips an all-empty match when evaluating, so such a
 *   clause matches nothing and that DENY rule never fires: see rbac/authorization.ts.)
 */
export function convertRule(action: PolicyAction, rule: RuleView, policyNamespace: string): RuleResult {
  const http = new Set<string>();
  const skipped: { field: string; value: string }[] = [];
  const toMatches: RbacMatch[] = [];
  for (const [i, to] of (rule.to ?? []).entries()) {
    const op = to.operation ?? {};
    for (const f of HTTP_OPERATION_FIELDS) if ((op[f]?.length ?? 0) > 0) http.add(f);
    const at = `to[${i}].operation`;
    toMatches.push({
      ...emptyMatch(),
      destinationPorts: ports(op.ports, `${at}.ports`, skipped),
      notDestinationPorts: ports(op.notPorts, `${at}.notPorts`, skipped),
    });
  }
  const fromMatches: RbacMatch[] = [];
  for (const [i, from] of (rule.from ?? []).entries()) {
    const src = from.source ?? {};
    for (const f of HTTP_SOURCE_FIELDS) if ((src[f]?.length ?? 0) > 0) http.add(f);
    const at = `from[${i}].source`;
    fromMatches.push({
      ...emptyMatch(),
      sourceIps: cidrs(src.ipBlocks, `${at}.ipBlocks`, skipped),
      notSourceIps: cidrs(src.notIpBlocks, `${at}.notIpBlocks`, skipped),
      namespaces: stringMatches(src.namespaces),
      notNamespaces: stringMatches(src.notNamespaces),
      serviceAccounts: serviceAccounts(src.serviceAccounts, policyNamespace),
      notServiceAccounts: serviceAccounts(src.notServiceAccounts, policyNamespace),
      principals: stringMatches(src.principals),
      notPrincipals: stringMatches(src.notPrincipals),
    });
  }
  const clauses: RbacClause[] = [];
  if (toMatches.length > 0) clauses.push(toMatches);
  if (fromMatches.length > 0) clauses.push(fromMatches);
  for (const [i, when] of (rule.when ?? []).entries()) {
    const key = when.key ?? '';
    if (!(L4_WHEN_KEYS as readonly string[]).includes(key)) http.add(key);
    const at = `when[${i}]`;
    const pick = <T>(k: string, convert: (v: readonly string[] | undefined) => T[], negate: boolean): T[] =>
      key === k ? convert(negate ? when.notValues : when.values) : [];
    clauses.push([
      {
        ...emptyMatch(),
        namespaces: pick('source.namespace', stringMatches, false),
        principals: pick('source.principal', stringMatches, false),
        sourceIps: pick('source.ip', (v) => cidrs(v, `${at}.values`, skipped), false),
        destinationPorts: pick('destination.port', (v) => ports(v, `${at}.values`, skipped), false),
        destinationIps: pick('destination.ip', (v) => cidrs(v, `${at}.values`, skipped), false),
        notNamespaces: pick('source.namespace', stringMatches, true),
        notPrincipals: pick('source.principal', stringMatches, true),
        notSourceIps: pick('source.ip', (v) => cidrs(v, `${at}.notValues`, skipped), true),
        notDestinationPorts: pick('destination.port', (v) => ports(v, `${at}.notValues`, skipped), true),
        notDestinationIps: pick('destination.ip', (v) => cidrs(v, `${at}.notValues`, skipped), true),
      },
    ]);
  }
  const dropped = action === 'Allow' && http.size > 0;
  return { rule: dropped ? undefined : clauses, httpFields: [...http], skipped };
}

/** istiod stringToMatch: `*` presence, `*x` suffix, `x*` prefix, else exact. */
export function stringMatches(values: readonly string[] | undefined): StringMatch[] {
  return (values ?? []).map((v): StringMatch => {
    if (v === '*') return { kind: 'presence' };
    if (v.startsWith('*')) return { kind: 'suffix', value: v.slice(1) };
    if (v.endsWith('*')) return { kind: 'prefix', value: v.slice(0, -1) };
    return { kind: 'exact', value: v };
  });
}

/** istiod stringToServiceAccountMatch: `ns/sa`, or a bare `sa` in the policy's namespace. */
export function serviceAccounts(values: readonly string[] | undefined, policyNamespace: string): ServiceAccountMatch[] {
  return (values ?? []).map((v) => {
    const slash = v.indexOf('/');
    return slash === -1
      ? { namespace: policyNamespace, serviceAccount: v }
      : { namespace: v.slice(0, slash), serviceAccount: v.slice(slash + 1) };
  });
}

/** istiod stringToPort: decimal 0..65535; anything else is skipped. */
function ports(values: readonly string[] | undefined, field: string, skipped: { field: string; value: string }[]): number[] {
  const out: number[] = [];
  for (const v of values ?? []) {
    if (/^\d+$/.test(v) && Number(v) <= 65535) out.push(Number(v));
    else skipped.push({ field, value: v });
  }
  return out;
}

/** istiod stringToIP: `ip/len`, or a bare IP with the full-length prefix; empty and bad values skipped. */
function cidrs(values: readonly string[] | undefined, field: string, skipped: { field: string; value: string }[]): Cidr[] {
  const out: Cidr[] = [];
  for (const v of values ?? []) {
    if (v === '') continue;
    const parsed = parseCidr(v);
    if (typeof parsed === 'string') skipped.push({ field, value: v });
    else out.push({ ip: parsed.ip, prefixLength: parsed.prefixLength });
  }
  return out;
}
