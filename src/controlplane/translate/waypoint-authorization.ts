// AuthorizationPolicy with targetRefs → the waypoint's AuthzPolicy (src/waypoint/model/security-
// model.ts). Values are validated as istiod's webhook would; a rule with an invalid part is
// dropped from an ALLOW/AUDIT policy (it allows less) and kept in a DENY one, where the waypoint
// counts what it cannot evaluate as matching (it denies more). CUSTOM is refused and fails closed.

import type { KubeObject } from '../../k8s/index.js';
import { parseCidr } from '../../state/index.js';
import type { AuthzAction, AuthzCondition, AuthzOperation, AuthzPolicy, AuthzRule, AuthzSource } from '../../waypoint/model/security-model.js';
import type { OperationView, RuleView, SourceView } from './authorization-rules.js';
import { ANNOTATION, annotationsOf, parseGoBool } from './labels.js';
import { pathTemplateIssue } from './path-template-check.js';
import { hasTargetRefs, policyTargets, type PolicyTarget } from './policy-targets.js';
import { refOf, type ObjectRef, type Problems } from './types.js';

export interface WaypointPolicy {
  /** Without `services`: the waypoint translation narrows it per waypoint. */
  readonly policy: AuthzPolicy;
  readonly targets: readonly PolicyTarget[];
}

/** `when` keys a waypoint evaluates (https://istio.io/latest/docs/reference/config/security/conditions/). */
const PLAIN_KEYS = new Set([
  'source.ip', 'source.namespace', 'source.principal', 'remote.ip', 'request.auth.principal', 'request.auth.audiences',
  'request.auth.presenter', 'destination.ip', 'destination.port', 'connection.sni',
]);
const IP_KEYS = new Set(['source.ip', 'remote.ip', 'destination.ip']);

export function knownWhenKey(key: string): boolean {
  if (PLAIN_KEYS.has(key)) return true;
  if (/^request\.headers\[[^\][]+\]$/.test(key)) return true;
  return /^request\.auth\.claims(\[[^\][]+\])+$/.test(key);
}

interface RuleCheck {
  readonly ref: ObjectRef;
  readonly at: string;
  readonly problems: Problems;
  /** Set when a value or a structure is invalid. */
  invalid: boolean;
}

function bad(c: RuleCheck, field: string, reason: string): void {
  c.invalid = true;
  c.problems.error(c.ref, field, reason);
}

function nonEmpty<T>(v: readonly T[] | undefined): readonly T[] | undefined {
  return v !== undefined && v.length > 0 ? v : undefined;
}

function cidrs(c: RuleCheck, field: string, values: readonly string[] | undefined): readonly string[] | undefined {
  for (const v of values ?? []) {
    const p = parseCidr(v.trim());
    if (typeof p === 'string') bad(c, field, `"${v}" is not an IP or CIDR: ${p}`);
  }
  return nonEmpty(values);
}

function ports(c: RuleCheck, field: string, values: readonly string[] | undefined): number[] | undefined {
  const out: number[] = [];
  for (const v of values ?? []) {
    if (/^\d{1,5}$/.test(v) && Number(v) <= 65535) out.push(Number(v));
    else bad(c, field, `"${v}" is not a port (0..65535)`);
  }
  return out.length > 0 ? out : undefined;
}

function paths(c: RuleCheck, field: string, values: readonly string[] | undefined): readonly string[] | undefined {
  for (const v of values ?? []) {
    const issue = pathTemplateIssue(v);
    if (issue !== undefined) bad(c, field, `"${v}": ${issue}`);
  }
  return nonEmpty(values);
}

function source(c: RuleCheck, s: SourceView | undefined, namespace: string, at: string): AuthzSource {
  if (s === undefined || Object.values(s).every((v) => v === undefined || (Array.isArray(v) && v.length === 0))) {
    bad(c, at, 'from.source must not be empty (istiod refuses it)');
    return {};
  }
  const sa = (vals: readonly string[] | undefined, f: string): readonly string[] | undefined => {
    const out = (vals ?? []).map((v) => {
      if (v.includes('*')) bad(c, `${at}.${f}`, `"${v}": serviceAccounts take no wildcards`);
      return v.includes('/') ? v : `${namespace}/${v}`;
    });
    return nonEmpty(out);
  };
  if ((s.serviceAccounts?.length ?? 0) + (s.notServiceAccounts?.length ?? 0) > 0 &&
      (s.principals?.length ?? 0) + (s.notPrincipals?.length ?? 0) + (s.namespaces?.length ?? 0) + (s.notNamespaces?.length ?? 0) > 0) {
    bad(c, at, 'serviceAccounts cannot be combined with principals or namespaces');
  }
  const out: Record<string, unknown> = {
    principals: nonEmpty(s.principals), notPrincipals: nonEmpty(s.notPrincipals),
    requestPrincipals: nonEmpty(s.requestPrincipals), notRequestPrincipals: nonEmpty(s.notRequestPrincipals),
    namespaces: nonEmpty(s.namespaces), notNamespaces: nonEmpty(s.notNamespaces),
    serviceAccounts: sa(s.serviceAccounts, 'serviceAccounts'), notServiceAccounts: sa(s.notServiceAccounts, 'notServiceAccounts'),
    ipBlocks: cidrs(c, `${at}.ipBlocks`, s.ipBlocks), notIpBlocks: cidrs(c, `${at}.notIpBlocks`, s.notIpBlocks),
    remoteIpBlocks: cidrs(c, `${at}.remoteIpBlocks`, s.remoteIpBlocks), notRemoteIpBlocks: cidrs(c, `${at}.notRemoteIpBlocks`, s.notRemoteIpBlocks),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as AuthzSource;
}

function operation(c: RuleCheck, o: OperationView | undefined, at: string): AuthzOperation {
  if (o === undefined || Object.values(o).every((v) => v === undefined || (Array.isArray(v) && v.length === 0))) {
    bad(c, at, 'to.operation must not be empty (istiod refuses it)');
    return {};
  }
  for (const m of [...(o.methods ?? []), ...(o.notMethods ?? [])]) {
    if (m !== m.toUpperCase()) c.problems.warning(c.ref, `${at}.methods`, `"${m}" is not upper case; requests use upper-case methods, so it never matches`);
  }
  const out: Record<string, unknown> = {
    hosts: nonEmpty(o.hosts), notHosts: nonEmpty(o.notHosts),
    ports: ports(c, `${at}.ports`, o.ports), notPorts: ports(c, `${at}.notPorts`, o.notPorts),
    methods: nonEmpty(o.methods), notMethods: nonEmpty(o.notMethods),
    paths: paths(c, `${at}.paths`, o.paths), notPaths: paths(c, `${at}.notPaths`, o.notPaths),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as AuthzOperation;
}

function condition(c: RuleCheck, w: NonNullable<RuleView['when']>[number], at: string, deny: boolean): AuthzCondition | undefined {
  const key = w.key ?? '';
  const values = nonEmpty(w.values);
  const notValues = nonEmpty(w.notValues);
  if (values === undefined && notValues === undefined) {
    bad(c, at, 'a condition needs values or notValues');
    return undefined;
  }
  if (!knownWhenKey(key)) {
    c.problems.warning(c.ref, `${at}.key`, `"${key}" is not a condition the waypoint evaluates: ${deny ? 'it counts as matching in this DENY rule (denies more)' : 'this rule never matches (allows less)'}`);
  } else if (IP_KEYS.has(key)) {
    cidrs(c, `${at}.values`, values);
    cidrs(c, `${at}.notValues`, notValues);
  } else if (key === 'destination.port') {
    for (const v of [...(values ?? []), ...(notValues ?? [])]) if (!(/^\d{1,5}$/.test(v) && Number(v) <= 65535)) bad(c, `${at}.values`, `"${v}" is not a port (0..65535)`);
  }
  return { key, ...(values ? { values } : {}), ...(notValues ? { notValues } : {}) };
}

function rule(r: RuleView, c: RuleCheck, namespace: string, deny: boolean): AuthzRule {
  const out: { from?: AuthzSource[]; to?: AuthzOperation[]; when?: AuthzCondition[] } = {};
  if ((r.from?.length ?? 0) > 0) out.from = r.from!.map((f, i) => source(c, f.source, namespace, `${c.at}.from[${i}].source`));
  if ((r.to?.length ?? 0) > 0) out.to = r.to!.map((t, i) => operation(c, t.operation, `${c.at}.to[${i}].operation`));
  if ((r.when?.length ?? 0) > 0) {
    out.when = r.when!.flatMap((w, i) => condition(c, w, `${c.at}.when[${i}]`, deny) ?? []);
  }
  return out;
}

interface PolicyView {
  readonly spec?: { readonly action?: string; readonly rules?: readonly RuleView[] };
}

/** undefined when the policy has no targetRefs (node agents enforce it; waypoints ignore selector policies). */
export function translateWaypointPolicy(obj: KubeObject<'AuthorizationPolicy'>, rootNamespace: string, problems: Problems): WaypointPolicy | undefined {
  if (!hasTargetRefs(obj)) return undefined;
  const ref = refOf(obj);
  const namespace = obj.metadata.namespace ?? '';
  const spec = (obj as unknown as PolicyView).spec ?? {};
  const targets = policyTargets(obj, rootNamespace, problems);
  const dryRun = parseGoBool(annotationsOf(obj)[ANNOTATION.dryRun]) === true;
  let action: AuthzAction;
  switch (spec.action ?? 'ALLOW') {
    case 'ALLOW': action = 'ALLOW'; break;
    case 'DENY': action = 'DENY'; break;
    case 'AUDIT': action = 'AUDIT'; break;
    case 'CUSTOM':
      problems.error(ref, 'spec.action', 'CUSTOM (ext-authz) is not supported: every request to the policy\'s targets is denied (403, flag UAEX) until it is removed (fail closed)');
      return { policy: { namespace, name: obj.metadata.name, action: 'CUSTOM', ...(dryRun ? { dryRun } : {}), rules: [] }, targets };
    default:
      problems.error(ref, 'spec.action', `unknown action "${spec.action}": the policy's targets are denied every request (fail closed)`);
      return { policy: { namespace, name: obj.metadata.name, action: 'CUSTOM', rules: [] }, targets };
  }
  const deny = action === 'DENY';
  const rules: AuthzRule[] = [];
  for (const [i, r] of (spec.rules ?? []).entries()) {
    const c: RuleCheck = { ref, at: `spec.rules[${i}]`, problems, invalid: false };
    const compiled = rule(r, c, namespace, deny);
    if (!c.invalid) rules.push(compiled);
    else if (deny) {
      problems.error(ref, `spec.rules[${i}]`, 'invalid rule kept: what the waypoint cannot evaluate counts as matching, so it denies more than written');
      rules.push(compiled);
    } else problems.error(ref, `spec.rules[${i}]`, 'invalid rule dropped: it allows nothing');
  }
  return { policy: { namespace, name: obj.metadata.name, action, ...(dryRun ? { dryRun } : {}), rules }, targets };
}
