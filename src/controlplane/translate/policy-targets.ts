// `targetRefs` of AuthorizationPolicy and RequestAuthentication as waypoints read them
// (istio/api type/v1beta1 PolicyTargetReference; Istio's waypoint policy attachment): the
// waypoint Gateway, a Service or ServiceEntry at its waypoint, or GatewayClass istio-waypoint from
// the root namespace.

import type { KubeObject } from '../../k8s/index.js';
import { WAYPOINT_CLASS } from './labels.js';
import { refOf, type Problems } from './types.js';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const NETWORKING_GROUP = 'networking.istio.io';

export type PolicyTarget =
  | { readonly kind: 'Gateway'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'GatewayClass' }
  | { readonly kind: 'Service'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'ServiceEntry'; readonly namespace: string; readonly name: string };

interface TargetRefView {
  readonly group?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

interface PolicySpecView {
  readonly selector?: unknown;
  readonly targetRef?: TargetRefView;
  readonly targetRefs?: readonly TargetRefView[];
}

/** Whether the object attaches by targetRef(s) at all (then only waypoints and gateways enforce it). */
export function hasTargetRefs(obj: KubeObject<'AuthorizationPolicy' | 'RequestAuthentication'>): boolean {
  const spec = (obj as unknown as { spec?: PolicySpecView }).spec ?? {};
  return (spec.targetRefs?.length ?? 0) > 0 || spec.targetRef !== undefined;
}

/**
 * The targets of a policy's targetRefs (and the deprecated singular targetRef). Unsupported
 * entries are reported and skipped: another namespace, other kinds, GatewayClass other than
 * istio-waypoint or outside the root namespace.
 */
export function policyTargets(obj: KubeObject<'AuthorizationPolicy' | 'RequestAuthentication'>, rootNamespace: string, problems: Problems): PolicyTarget[] {
  const ref = refOf(obj);
  const namespace = obj.metadata.namespace ?? '';
  const spec = (obj as unknown as { spec?: PolicySpecView }).spec ?? {};
  const entries: [TargetRefView, string][] = (spec.targetRefs ?? []).map((t, i) => [t, `spec.targetRefs[${i}]`]);
  if (spec.targetRef !== undefined) entries.push([spec.targetRef, 'spec.targetRef']);
  if (entries.length > 0 && spec.selector !== undefined) {
    problems.warning(ref, 'spec.selector', 'selector and targetRefs are mutually exclusive; waypoints use targetRefs and ignore the selector');
  }
  const out: PolicyTarget[] = [];
  for (const [t, at] of entries) {
    if (t.namespace !== undefined && t.namespace !== '' && t.namespace !== namespace) {
      problems.error(ref, `${at}.namespace`, `targetRefs must be in the policy's namespace (${namespace}); "${t.namespace}" ignored`);
      continue;
    }
    const group = t.group ?? '';
    const name = t.name ?? '';
    if (name === '') {
      problems.error(ref, `${at}.name`, 'name is required');
      continue;
    }
    if (t.kind === 'Gateway' && group === GATEWAY_GROUP) out.push({ kind: 'Gateway', namespace, name });
    else if (t.kind === 'Service' && (group === '' || group === 'core')) out.push({ kind: 'Service', namespace, name });
    else if (t.kind === 'GatewayClass' && group === GATEWAY_GROUP) {
      if (name !== WAYPOINT_CLASS) problems.warning(ref, `${at}.name`, `GatewayClass "${name}" is not ${WAYPOINT_CLASS}; no waypoint enforces the policy`);
      else if (namespace !== rootNamespace) problems.error(ref, at, `a GatewayClass target is honoured only for policies in the root namespace (${rootNamespace})`);
      else out.push({ kind: 'GatewayClass' });
    } else if (t.kind === 'ServiceEntry' && group === NETWORKING_GROUP) out.push({ kind: 'ServiceEntry', namespace, name });
    else problems.error(ref, at, `unsupported target ${group === '' ? '' : `${group}/`}${t.kind ?? '(no kind)'}: expected ${GATEWAY_GROUP}/Gateway, Service, ${NETWORKING_GROUP}/ServiceEntry, or ${GATEWAY_GROUP}/GatewayClass ${WAYPOINT_CLASS}`);
  }
  return out;
}

/**
 * Which of a waypoint's services the targets reach: `all` (its Gateway, or the waypoint class),
 * the `namespace/hostname` keys of targeted Services it serves, or none (empty list).
 */
export function targetedServices(
  targets: readonly PolicyTarget[],
  waypoint: { readonly namespace: string; readonly name: string },
  served: readonly { readonly namespace: string; readonly name: string; readonly hostname: string; readonly object?: { readonly kind: string } }[],
): 'all' | string[] {
  const keys: string[] = [];
  for (const t of targets) {
    if (t.kind === 'GatewayClass') return 'all';
    if (t.kind === 'Gateway') {
      if (t.namespace === waypoint.namespace && t.name === waypoint.name) return 'all';
      continue;
    }
    // A Service target reaches that Service; a ServiceEntry target every host of it the waypoint serves.
    for (const s of served) if (s.namespace === t.namespace && s.name === t.name && (s.object?.kind ?? 'Service') === t.kind) keys.push(`${s.namespace}/${s.hostname}`);
  }
  return [...new Set(keys)].sort();
}
