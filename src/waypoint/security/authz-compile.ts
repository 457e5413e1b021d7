// AuthzPolicy (the model) → compiled checks, once per config: match forms into predicates, CIDRs
// and path templates parsed, `when` keys resolved. What cannot be understood is kept as UNKNOWN,
// never dropped, so the evaluator can fail closed (authz-evaluate.ts).

import type { AuthzOperation, AuthzPolicy, AuthzRule, AuthzSource } from '../model/security-model.js';
import { cidrCheck, group, UNKNOWN, type Check, type Tri } from './authz-checks.js';
import { compileCondition, httpOnly } from './authz-conditions.js';
import type { AuthzRequest } from './authz-request.js';
import { anyForm, matchForm, type StringPredicate } from './match-forms.js';
import { compilePathTemplate, isPathTemplate, pathTemplateProblem } from './path-template.js';

export interface CompiledRule {
  readonly index: number;
  /** OR of ANDs; empty ⇒ any source. */
  readonly from: readonly (readonly Check[])[];
  readonly to: readonly (readonly Check[])[];
  /** AND. */
  readonly when: readonly Check[];
  /** Holds an HTTP-only attribute (hosts, methods, paths, requestPrincipals, HTTP `when` keys). */
  readonly http: boolean;
  /** Holds something that can never be evaluated (unknown `when` key, unparseable value). */
  readonly unevaluable: boolean;
}

export interface CompiledPolicy {
  readonly key: string;
  /** Envoy's RBAC policy name prefix: `ns[<namespace>]-policy[<name>]`. */
  readonly envoyName: string;
  readonly source: AuthzPolicy;
  readonly rules: readonly CompiledRule[];
}

interface Flags {
  http: boolean;
  unevaluable: boolean;
}

/** A string attribute against match forms; an absent attribute matches no value. */
function stringField(forms: readonly string[] | undefined, get: (r: AuthzRequest) => string | undefined, ignoreCase = false): ((r: AuthzRequest) => Tri) | undefined {
  const pred = anyForm(forms, ignoreCase);
  if (pred === undefined) return undefined;
  return (r) => {
    const v = get(r);
    return v !== undefined && pred(v);
  };
}

/** Paths: match forms or URI templates; an invalid template is UNKNOWN unless another value matches. */
function pathField(values: readonly string[] | undefined, flags: Flags): ((r: AuthzRequest) => Tri) | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const preds: StringPredicate[] = [];
  let bad = false;
  for (const v of values) {
    if (isPathTemplate(v)) {
      if (pathTemplateProblem(v) !== undefined) {
        bad = true;
        continue;
      }
      const re = compilePathTemplate(v);
      preds.push((p) => re.test(p));
    } else preds.push(matchForm(v));
  }
  if (bad) flags.unevaluable = true;
  return (r) => {
    const p = r.path;
    if (p !== undefined && preds.some((f) => f(p))) return true;
    return bad ? UNKNOWN : false;
  };
}

function field(pos: ((r: AuthzRequest) => Tri) | undefined, neg: ((r: AuthzRequest) => Tri) | undefined, http: boolean, flags: Flags, out: Check[]): void {
  if (pos === undefined && neg === undefined) return;
  if (http) flags.http = true;
  const check = group(pos, neg);
  out.push(http ? httpOnly(check) : check);
}

function ipField(values: readonly string[] | undefined, get: (r: AuthzRequest) => AuthzRequest['sourceIp'], flags: Flags): ((r: AuthzRequest) => Tri) | undefined {
  const c = cidrCheck(values, get);
  if (c?.bad) flags.unevaluable = true;
  return c?.check;
}

function compileSource(s: AuthzSource, flags: Flags): Check[] {
  const out: Check[] = [];
  const principal = (r: AuthzRequest): string | undefined => r.peer?.principal;
  const namespace = (r: AuthzRequest): string | undefined => r.peer?.namespace;
  const reqPrincipal = (r: AuthzRequest): string | undefined => r.auth?.principal;
  const sa = (r: AuthzRequest): string | undefined => (r.peer ? `${r.peer.namespace}/${r.peer.serviceAccount}` : undefined);
  const exactSet = (vals: readonly string[] | undefined): ((r: AuthzRequest) => Tri) | undefined => {
    if (vals === undefined || vals.length === 0) return undefined;
    const set = new Set(vals);
    return (r) => {
      const v = sa(r);
      return v !== undefined && set.has(v);
    };
  };
  field(stringField(s.principals, principal), stringField(s.notPrincipals, principal), false, flags, out);
  field(stringField(s.requestPrincipals, reqPrincipal), stringField(s.notRequestPrincipals, reqPrincipal), true, flags, out);
  field(stringField(s.namespaces, namespace), stringField(s.notNamespaces, namespace), false, flags, out);
  field(exactSet(s.serviceAccounts), exactSet(s.notServiceAccounts), false, flags, out);
  field(ipField(s.ipBlocks, (r) => r.sourceIp, flags), ipField(s.notIpBlocks, (r) => r.sourceIp, flags), false, flags, out);
  field(ipField(s.remoteIpBlocks, (r) => r.remoteIp, flags), ipField(s.notRemoteIpBlocks, (r) => r.remoteIp, flags), false, flags, out);
  return out;
}

function compileOperation(o: AuthzOperation, flags: Flags): Check[] {
  const out: Check[] = [];
  const portSet = (ps: readonly number[] | undefined): ((r: AuthzRequest) => Tri) | undefined => {
    if (ps === undefined || ps.length === 0) return undefined;
    const set = new Set(ps);
    return (r) => set.has(r.destinationPort);
  };
  field(stringField(o.hosts, (r) => r.host, true), stringField(o.notHosts, (r) => r.host, true), true, flags, out);
  field(portSet(o.ports), portSet(o.notPorts), false, flags, out);
  field(stringField(o.methods, (r) => r.method), stringField(o.notMethods, (r) => r.method), true, flags, out);
  field(pathField(o.paths, flags), pathField(o.notPaths, flags), true, flags, out);
  return out;
}

export function compileRule(rule: AuthzRule, index: number): CompiledRule {
  const flags: Flags = { http: false, unevaluable: false };
  const from = (rule.from ?? []).map((s) => compileSource(s, flags));
  const to = (rule.to ?? []).map((o) => compileOperation(o, flags));
  const when = (rule.when ?? []).map((c) => {
    const cc = compileCondition(c.key, c.values, c.notValues);
    if (cc.http) flags.http = true;
    if (cc.unevaluable) flags.unevaluable = true;
    return cc.check;
  });
  return { index, from, to, when, http: flags.http, unevaluable: flags.unevaluable };
}

export function compilePolicy(p: AuthzPolicy): CompiledPolicy {
  return {
    key: `${p.namespace}/${p.name}`,
    envoyName: `ns[${p.namespace}]-policy[${p.name}]`,
    source: p,
    rules: p.rules.map((r, i) => compileRule(r, i)),
  };
}
