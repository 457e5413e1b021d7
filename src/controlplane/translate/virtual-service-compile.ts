// One VirtualService → the routes (http[]) or TCP backends (tcp[]) of one served Service port, as
// istiod builds a waypoint's inbound routes from it (listener_waypoint.go waypointInboundRoute):
// one model Route per match, in the VirtualService's order (first match wins; no Gateway API
// precedence); a match with another `port` is left out; nothing after a catch-all route.
//
// An invalid http rule is dropped and reported with its field path; the other rules still serve.

import type { KubeObject } from '../../k8s/index.js';
import type { Cluster, Route, RouteAction, WeightedCluster } from '../../waypoint/model/route-model.js';
import { compileIstioCors, type IstioCorsView } from './cors-policy.js';
import type { VsContext } from './virtual-service-context.js';
import { compileMirrors, compileRouteDestinations, type MirrorViews, type RouteDestinationView } from './virtual-service-destinations.js';
import { compileFault, type FaultView } from './virtual-service-fault.js';
import {
  compileDirectResponse, compileIstioHeaders, compileRedirect, rewriteFor, rewriteProblem,
  type DirectResponseView, type IstioHeadersView, type RedirectView, type RewriteView, type RuleProblem,
} from './virtual-service-filters.js';
import { compileVsMatch, isCatchAll, type HttpMatchView } from './virtual-service-match.js';
import { compileRetry, type RetriesView } from './virtual-service-retry.js';

interface HttpRuleView extends MirrorViews {
  readonly name?: string;
  readonly match?: readonly HttpMatchView[];
  readonly route?: readonly RouteDestinationView[];
  readonly redirect?: RedirectView;
  readonly directResponse?: DirectResponseView;
  readonly delegate?: unknown;
  readonly rewrite?: RewriteView;
  readonly timeout?: string;
  readonly retries?: RetriesView;
  readonly fault?: FaultView;
  readonly corsPolicy?: IstioCorsView;
  readonly headers?: IstioHeadersView;
}

interface TcpRuleView {
  readonly match?: readonly {
    readonly port?: number;
    readonly destinationSubnets?: readonly string[];
    readonly sourceLabels?: Readonly<Record<string, string>>;
    readonly sourceNamespace?: string;
    readonly gateways?: readonly string[];
  }[];
  readonly route?: readonly RouteDestinationView[];
}

export interface VirtualServiceSpecView {
  readonly hosts?: readonly string[];
  readonly gateways?: readonly string[];
  readonly exportTo?: readonly string[];
  readonly http?: readonly HttpRuleView[];
  readonly tcp?: readonly TcpRuleView[];
  readonly tls?: readonly unknown[];
}

export const specOf = (vs: KubeObject<'VirtualService'>): VirtualServiceSpecView => (vs.spec ?? {}) as VirtualServiceSpecView;

/** The http routes of `vs` for `ctx.listenPort`, in order, and the clusters they name. */
export function compileVirtualServiceHttp(vs: KubeObject<'VirtualService'>, ctx: VsContext): { routes: Route[]; clusters: Cluster[] } {
  const routes: Route[] = [];
  const clusters = new Map<string, Cluster>();
  const object = `${ctx.namespace}/${vs.metadata.name}`;
  for (const [i, rule] of (specOf(vs).http ?? []).entries()) {
    const at = `spec.http[${i}]`;
    const matches = applicableMatches(rule, at, ctx);
    if (matches === undefined || matches.length === 0) continue;
    const ruleClusters = new Map<string, Cluster>();
    const parts = compileRule(rule, at, ctx, ruleClusters);
    if (parts === undefined) continue;
    for (const [c, v] of ruleClusters) clusters.set(c, v);
    let catchAll = false;
    for (const { j, match } of matches) {
      const rewrite = rule.rewrite ? rewriteFor(rule.rewrite, match, parts.authority) : parts.authority ? { hostname: parts.authority } : undefined;
      routes.push({
        name: `${object}.r${i}.m${j}`,
        source: { kind: 'VirtualService', namespace: ctx.namespace, name: vs.metadata.name, rule: i, match: j },
        match,
        action: parts.action,
        ...(parts.requestHeaders ? { requestHeaders: parts.requestHeaders } : {}),
        ...(parts.responseHeaders ? { responseHeaders: parts.responseHeaders } : {}),
        ...(rewrite && parts.action.kind !== 'redirect' ? { rewrite } : {}),
        ...(parts.mirrors.length ? { mirrors: parts.mirrors } : {}),
        ...(parts.timeouts ? { timeouts: parts.timeouts } : {}),
        ...(parts.retry ? { retry: parts.retry } : {}),
        ...(parts.fault ? { fault: parts.fault } : {}),
        ...(parts.cors ? { cors: parts.cors } : {}),
      });
      if (isCatchAll(match)) {
        catchAll = true;
        break;
      }
    }
    if (catchAll) break;
  }
  return { routes, clusters: [...clusters.values()] };
}

/** The rule's matches that apply at this port (none written ⇒ one catch-all); undefined when invalid. */
function applicableMatches(rule: HttpRuleView, at: string, ctx: VsContext): { j: number; match: Route['match'] }[] | undefined {
  const views = rule.match?.length ? rule.match : [{}];
  const out: { j: number; match: Route['match'] }[] = [];
  for (const [j, m] of views.entries()) {
    const c = compileVsMatch(m, `${at}.match[${j}]`);
    if (c.kind === 'invalid') {
      ctx.problems.error(ctx.object, c.field, `${c.reason}; rule dropped`);
      return undefined;
    }
    if (c.kind === 'skip') {
      if (c.warning !== undefined) ctx.problems.warning(ctx.object, c.field ?? `${at}.match[${j}]`, c.warning);
      continue;
    }
    if (c.port !== undefined && c.port !== ctx.listenPort) continue;
    out.push({ j, match: c.match });
  }
  return out;
}

interface RuleParts {
  readonly action: RouteAction;
  readonly requestHeaders?: Route['requestHeaders'];
  readonly responseHeaders?: Route['responseHeaders'];
  readonly authority?: string;
  readonly mirrors: NonNullable<Route['mirrors']>;
  readonly timeouts?: Route['timeouts'];
  readonly retry?: Route['retry'];
  readonly fault?: Route['fault'];
  readonly cors?: Route['cors'];
}

const isProblem = (x: object): x is RuleProblem => 'reason' in x && 'field' in x;

/** Everything of one rule but its matches; undefined when the rule is dropped (reported). */
function compileRule(rule: HttpRuleView, at: string, ctx: VsContext, clusters: Map<string, Cluster>): RuleParts | undefined {
  const drop = (p: RuleProblem): undefined => {
    ctx.problems.error(ctx.object, `${at}.${p.field}`, `${p.reason}; rule dropped`);
    return undefined;
  };
  const warn = (p: RuleProblem): void => ctx.problems.warning(ctx.object, `${at}.${p.field}`, p.reason);
  if (rule.delegate !== undefined) return drop({ field: 'delegate', reason: 'delegate VirtualServices are not supported at a waypoint' });
  const kinds = [rule.route?.length ? 'route' : '', rule.redirect ? 'redirect' : '', rule.directResponse ? 'directResponse' : ''].filter(Boolean);
  if (kinds.length === 0) return drop({ field: 'route', reason: 'one of route, redirect or directResponse is required' });
  if (kinds.length > 1) return drop({ field: kinds[1]!, reason: `${kinds.join(' and ')} cannot be used together` });
  if (rule.rewrite) {
    const p = rewriteProblem(rule.rewrite);
    if (p) return drop(p);
    if (rule.redirect) return drop({ field: 'rewrite', reason: 'rewrite cannot be used with redirect' });
  }
  const limits = compileRetry(rule.timeout, rule.retries);
  if (isProblem(limits)) return drop(limits);
  limits.warnings.forEach(warn);
  let fault: Route['fault'];
  if (rule.fault !== undefined) {
    const f = compileFault(rule.fault);
    if (isProblem(f)) return drop(f);
    f.warnings.forEach(warn);
    fault = f.fault;
  }
  let action: RouteAction;
  let mirrors: NonNullable<Route['mirrors']> = [];
  if (rule.redirect) {
    const r = compileRedirect(rule.redirect, ctx.listenPort);
    if (isProblem(r)) return drop(r);
    action = { kind: 'redirect', redirect: r.redirect };
  } else if (rule.directResponse) {
    const d = compileDirectResponse(rule.directResponse);
    if (isProblem(d)) return drop(d);
    action = { kind: 'direct', ...d };
  } else {
    const backends: WeightedCluster[] | undefined = compileRouteDestinations(rule.route ?? [], `${at}.route`, ctx, clusters);
    if (backends === undefined) return undefined;
    action = { kind: 'forward', backends };
    mirrors = compileMirrors(rule, at, ctx, clusters);
  }
  let cors: Route['cors'];
  if (rule.corsPolicy !== undefined) {
    const c = compileIstioCors(rule.corsPolicy);
    for (const p of c.problems) ctx.problems.error(ctx.object, `${at}.corsPolicy.${p.field}`, p.reason);
    cors = c.policy;
  }
  const headers = rule.headers ? compileIstioHeaders(rule.headers) : {};
  return {
    action,
    ...(headers.request ? { requestHeaders: headers.request } : {}),
    ...(headers.response ? { responseHeaders: headers.response } : {}),
    ...(headers.authority !== undefined ? { authority: headers.authority } : {}),
    mirrors,
    ...(limits.timeouts ? { timeouts: limits.timeouts } : {}),
    ...(limits.retry ? { retry: limits.retry } : {}),
    ...(fault ? { fault } : {}),
    ...(cors ? { cors } : {}),
  };
}

/**
 * The TCP backends of `vs` for `ctx.listenPort`: the first tcp rule with a match for this port
 * (no match written ⇒ every port); undefined when no rule applies.
 */
export function compileVirtualServiceTcp(vs: KubeObject<'VirtualService'>, ctx: VsContext): { backends: WeightedCluster[]; clusters: Cluster[] } | undefined {
  for (const [i, rule] of (specOf(vs).tcp ?? []).entries()) {
    const at = `spec.tcp[${i}]`;
    const views = rule.match?.length ? rule.match : [{}];
    const applies = views.some((m, j) => {
      if (m.gateways?.length && !m.gateways.includes('mesh')) return false;
      for (const f of ['sourceLabels', 'sourceNamespace', 'destinationSubnets'] as const) {
        const v = m[f];
        if (v !== undefined && (typeof v === 'string' ? v !== '' : Object.keys(v).length > 0)) {
          ctx.problems.warning(ctx.object, `${at}.match[${j}].${f}`, `${f} cannot be evaluated at a waypoint; this match is left out`);
          return false;
        }
      }
      return m.port === undefined || m.port === 0 || m.port === ctx.listenPort;
    });
    if (!applies) continue;
    const clusters = new Map<string, Cluster>();
    const backends = compileRouteDestinations(rule.route ?? [], `${at}.route`, ctx, clusters, true);
    if (backends === undefined) continue;
    if (backends.length === 0) {
      ctx.problems.error(ctx.object, `${at}.route`, 'TCP route is required; rule dropped');
      continue;
    }
    return { backends, clusters: [...clusters.values()] };
  }
  return undefined;
}
