// Which DestinationRule applies to a host at one waypoint, as istiod picks it for a proxy
// (PushContext.destinationRule): the waypoint's namespace first, then the service's namespace,
// then the root namespace; in each, the exact host before the most specific wildcard. DestinationRules
// of one namespace with the same host are merged as istiod merges them (mergeDestinationRule).
//
// Only what the waypoint may see counts: rules of other namespaces need `exportTo` to include the
// waypoint's namespace. Rules with a workloadSelector select sidecars/gateways, not a waypoint.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { hostMatches, resolveHost, visibleFrom } from './istio-hosts.js';
import type { Labels } from './labels.js';
import { refOf, type ObjectRef, type Problems, type TranslateOptions } from './types.js';

/** The parts of networking.istio.io TrafficPolicy the waypoint reads (all optional). */
export interface TrafficPolicyView {
  readonly loadBalancer?: Readonly<Record<string, unknown>>;
  readonly connectionPool?: Readonly<Record<string, unknown>>;
  readonly outlierDetection?: Readonly<Record<string, unknown>>;
  readonly tls?: Readonly<Record<string, unknown>>;
  readonly tunnel?: unknown;
  readonly proxyProtocol?: unknown;
  readonly portLevelSettings?: readonly (TrafficPolicyView & { readonly port?: { readonly number?: number } })[];
}

interface SubsetView {
  readonly name?: string;
  readonly labels?: Record<string, string>;
  readonly trafficPolicy?: TrafficPolicyView;
}

interface DestinationRuleView {
  readonly host?: string;
  readonly trafficPolicy?: TrafficPolicyView;
  readonly subsets?: readonly SubsetView[];
  readonly exportTo?: readonly string[];
  readonly workloadSelector?: unknown;
}

/** A TrafficPolicy with where it was written, for problems. */
export interface SourcedPolicy {
  readonly policy: TrafficPolicyView;
  readonly object: ObjectRef;
  /** Field path of the policy, e.g. `spec.subsets[1].trafficPolicy`. */
  readonly at: string;
}

export interface AppliedSubset {
  readonly labels: Labels;
  readonly policy?: SourcedPolicy;
}

/** The (merged) DestinationRule of one host as this waypoint sees it. */
export interface AppliedDestinationRule {
  /** The rules merged, oldest first (the first one's trafficPolicy wins). */
  readonly objects: readonly ObjectRef[];
  readonly policy?: SourcedPolicy;
  readonly subsets: ReadonlyMap<string, AppliedSubset>;
}

interface HostRules {
  /** Resolved `spec.host` (FQDN or wildcard). */
  readonly host: string;
  readonly namespace: string;
  readonly exportTo: readonly string[] | undefined;
  readonly merged: AppliedDestinationRule;
}

const created = (o: KubeObject): string => (o.metadata.creationTimestamp ? String(o.metadata.creationTimestamp) : '');
const order = (a: KubeObject, b: KubeObject): number => {
  const ka = `${created(a)}\u0000${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${created(b)}\u0000${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

export class DestinationRuleIndex {
  /** namespace → merged rules by resolved host. */
  private readonly byNamespace = new Map<string, Map<string, HostRules>>();

  constructor(
    snapshot: ObjectSnapshot,
    private readonly options: TranslateOptions,
    /** The waypoint's namespace: the proxy namespace of istiod's lookup. */
    private readonly viewerNs: string,
    private readonly problems: Problems,
  ) {
    for (const dr of [...snapshot.list('DestinationRule')].sort(order)) this.add(dr);
  }

  private add(dr: KubeObject<'DestinationRule'>): void {
    const spec = (dr.spec ?? {}) as DestinationRuleView;
    const ref = refOf(dr);
    const ns = dr.metadata.namespace ?? '';
    if (spec.workloadSelector !== undefined) {
      this.problems.warning(ref, 'spec.workloadSelector', 'a DestinationRule with a workloadSelector applies to the selected sidecars and gateways, not at a waypoint; ignored here');
      return;
    }
    if (!spec.host) {
      this.problems.error(ref, 'spec.host', 'required field is missing; DestinationRule ignored');
      return;
    }
    const host = resolveHost(spec.host, ns, this.options.domainSuffix);
    let hosts = this.byNamespace.get(ns);
    if (hosts === undefined) this.byNamespace.set(ns, (hosts = new Map()));
    const subsets = new Map<string, AppliedSubset>();
    const existing = hosts.get(host);
    if (existing !== undefined) for (const [k, v] of existing.merged.subsets) subsets.set(k, v);
    for (const [i, s] of (spec.subsets ?? []).entries()) {
      const at = `spec.subsets[${i}]`;
      if (!s.name) {
        this.problems.error(ref, `${at}.name`, 'required field is missing; subset ignored');
        continue;
      }
      if (subsets.has(s.name)) {
        this.problems.warning(ref, `${at}.name`, `duplicate subset "${s.name}" for host ${host} (an older DestinationRule or an earlier entry defines it); ignored`);
        continue;
      }
      subsets.set(s.name, { labels: s.labels ?? {}, ...(s.trafficPolicy ? { policy: { policy: s.trafficPolicy, object: ref, at: `${at}.trafficPolicy` } } : {}) });
    }
    let policy = existing?.merged.policy;
    if (spec.trafficPolicy !== undefined) {
      if (policy === undefined) policy = { policy: spec.trafficPolicy, object: ref, at: 'spec.trafficPolicy' };
      else {
        this.problems.warning(ref, 'spec.trafficPolicy', `DestinationRule ${policy.object.namespace}/${policy.object.name} (older) already sets the trafficPolicy of host ${host}; ignored (istiod merges only subsets)`);
      }
    }
    hosts.set(host, {
      host,
      namespace: ns,
      exportTo: existing?.exportTo ?? spec.exportTo,
      merged: { objects: [...(existing?.merged.objects ?? []), ref], ...(policy ? { policy } : {}), subsets },
    });
  }

  /** The DestinationRule of `hostname` (a Service of namespace `serviceNs`) at this waypoint. */
  forHost(hostname: string, serviceNs: string): AppliedDestinationRule | undefined {
    const tiers = [this.viewerNs, serviceNs, this.options.rootNamespace];
    for (const [i, ns] of tiers.entries()) {
      if (tiers.indexOf(ns) !== i) continue;
      const local = ns === this.viewerNs;
      const found = mostSpecific(this.byNamespace.get(ns), hostname, (r) => local || visibleFrom(r.exportTo, r.namespace, this.viewerNs));
      if (found !== undefined) return found.merged;
    }
    return undefined;
  }
}

/** istiod MostSpecificHostMatch: the exact host, else the longest matching wildcard. */
function mostSpecific(hosts: Map<string, HostRules> | undefined, hostname: string, visible: (r: HostRules) => boolean): HostRules | undefined {
  if (hosts === undefined) return undefined;
  const exact = hosts.get(hostname);
  if (exact !== undefined && visible(exact)) return exact;
  let best: HostRules | undefined;
  for (const r of hosts.values()) {
    if (!r.host.startsWith('*') || !hostMatches(r.host, hostname) || !visible(r)) continue;
    if (best === undefined || r.host.length > best.host.length) best = r;
  }
  return best;
}
