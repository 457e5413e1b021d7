// The security part of each waypoint's WaypointConfig: every AuthorizationPolicy and
// RequestAuthentication with targetRefs is translated once per snapshot, then attached to the
// waypoints its targets reach (narrowed to the served Services it names), plus the waypoint's
// trusted X-Forwarded-For hops (Gateway annotation proxy.istio.io/config gatewayTopology).

import { parse as parseYaml } from 'yaml';
import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import type { AuthzPolicy, JwtRule, WaypointSecurityConfig } from '../../waypoint/model/security-model.js';
import { annotationsOf } from './labels.js';
import { targetedServices, type PolicyTarget } from './policy-targets.js';
import { translateRequestAuthentication } from './request-authentication.js';
import { refOf, type Problems, type TranslateOptions } from './types.js';
import { translateWaypointPolicy } from './waypoint-authorization.js';

/** Istio's per-gateway proxy config annotation (ProxyConfig YAML). */
export const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';

interface Targeted<T> {
  readonly value: T;
  readonly targets: readonly PolicyTarget[];
}

const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export class WaypointSecurityIndex {
  private readonly policies: Targeted<AuthzPolicy>[] = [];
  private readonly jwt: Targeted<JwtRule>[] = [];

  constructor(private readonly snapshot: ObjectSnapshot, options: TranslateOptions, private readonly problems: Problems) {
    const aps = snapshot.list('AuthorizationPolicy').map((o) => ({ key: `${o.metadata.namespace ?? ''}/${o.metadata.name}`, o })).sort(byKey);
    for (const { o } of aps) {
      const t = translateWaypointPolicy(o, options.rootNamespace, problems);
      if (t !== undefined) this.policies.push({ value: t.policy, targets: t.targets });
    }
    // Rules of older policies first (then namespace/name): the first rule of an issuer wins.
    const ras = snapshot.list('RequestAuthentication')
      .map((o) => ({ key: `${o.metadata.creationTimestamp ?? ''}\u0000${o.metadata.namespace ?? ''}/${o.metadata.name}`, o }))
      .sort(byKey);
    for (const { o } of ras) {
      const t = translateRequestAuthentication(o, options.rootNamespace, problems);
      if (t !== undefined) for (const r of t.rules) this.jwt.push({ value: r, targets: t.targets });
    }
  }

  /** The security of one waypoint; undefined when nothing reaches it (no field in its config). */
  forWaypoint(
    waypoint: { readonly namespace: string; readonly name: string },
    served: readonly { readonly namespace: string; readonly name: string; readonly hostname: string; readonly object?: { readonly kind: string } }[],
  ): WaypointSecurityConfig | undefined {
    const attach = <T extends object>(list: readonly Targeted<T>[]): T[] => {
      const out: T[] = [];
      for (const { value, targets } of list) {
        const scope = targetedServices(targets, waypoint, served);
        if (scope === 'all') out.push(value);
        else if (scope.length > 0) out.push({ ...value, services: scope });
      }
      return out;
    };
    const authorization = attach(this.policies);
    const jwtRules = attach(this.jwt);
    const hops = this.xffTrustedHops(waypoint);
    if (authorization.length === 0 && jwtRules.length === 0 && hops === 0) return undefined;
    return { authorization, jwtRules, ...(hops > 0 ? { xffTrustedHops: hops } : {}) };
  }

  private xffTrustedHops(waypoint: { readonly namespace: string; readonly name: string }): number {
    const gw: KubeObject<'Gateway'> | undefined = this.snapshot.get('Gateway', waypoint.namespace, waypoint.name);
    const text = gw === undefined ? undefined : annotationsOf(gw)[PROXY_CONFIG_ANNOTATION];
    if (gw === undefined || text === undefined) return 0;
    let n: unknown;
    try {
      n = (parseYaml(text) as { gatewayTopology?: { numTrustedProxies?: unknown } } | null)?.gatewayTopology?.numTrustedProxies;
    } catch (err) {
      this.problems.warning(refOf(gw), `metadata.annotations["${PROXY_CONFIG_ANNOTATION}"]`, `not YAML: ${(err as Error).message}`);
      return 0;
    }
    if (n === undefined) return 0;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 64) {
      this.problems.warning(refOf(gw), `metadata.annotations["${PROXY_CONFIG_ANNOTATION}"].gatewayTopology.numTrustedProxies`, 'expected an integer 0..64; X-Forwarded-For is not trusted');
      return 0;
    }
    return n;
  }
}
