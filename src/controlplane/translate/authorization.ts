// AuthorizationPolicy → istio.security.Authorization for node agents (istiod ambient
// authorization.go convertAuthorizationPolicy, policies.go PolicyCollections), and which
// workloads a selector policy attaches to (workloads.go buildWorkloadPolicies).

import type { KubeObject } from '../../k8s/index.js';
import { policyKey, type Authorization, type PolicyAction, type PolicyScope } from '../../state/index.js';
import { convertRule, type RuleView } from './authorization-rules.js';
import { ANNOTATION, annotationsOf, parseGoBool, selectsLabels, type Labels } from './labels.js';
import { refOf, type Problems } from './types.js';

interface PolicyView {
  readonly spec?: {
    readonly action?: string;
    readonly selector?: { readonly matchLabels?: Record<string, string> };
    readonly targetRef?: unknown;
    readonly targetRefs?: readonly unknown[];
    readonly rules?: readonly RuleView[];
  };
}

/** A translated policy; `selector` is set for WorkloadSelector scope. */
export interface TranslatedPolicy {
  readonly authorization: Authorization;
  /** matchLabels of a selector policy; undefined when it attaches to no workload. */
  readonly selector: Labels | undefined;
}

const HTTP_DENY = 'DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested.';
const HTTP_ALLOW = 'Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested.';

/**
 * undefined when istiod sends nothing for the policy:
 * - annotation istio.io/dry-run=true: dry-run policies are not sent to ztunnel at all;
 * - targetRef/targetRefs: the policy is for waypoints (their translation), not node agents;
 * - action AUDIT or CUSTOM: ztunnel has neither (reported, as istiod's UnsupportedValue status).
 * Scope: no selector ⇒ Namespace, or Global in the root namespace; a selector ⇒ WorkloadSelector
 * (the key is attached to each selected workload). dry_run is therefore always false.
 */
export function translateAuthorizationPolicy(
  obj: KubeObject<'AuthorizationPolicy'>,
  rootNamespace: string,
  problems: Problems,
): TranslatedPolicy | undefined {
  const ref = refOf(obj);
  const spec = (obj as unknown as PolicyView).spec ?? {};
  if (parseGoBool(annotationsOf(obj)[ANNOTATION.dryRun]) === true) {
    problems.warning(ref, `metadata.annotations["${ANNOTATION.dryRun}"]`, 'dry-run policies are not sent to node agents (istiod leaves them out for ztunnel)');
    return undefined;
  }
  if ((spec.targetRefs?.length ?? 0) > 0 || spec.targetRef !== undefined) return undefined;
  let action: PolicyAction;
  switch (spec.action ?? 'ALLOW') {
    case 'ALLOW':
      action = 'Allow';
      break;
    case 'DENY':
      action = 'Deny';
      break;
    default:
      problems.error(ref, 'spec.action', `UnsupportedValue: ztunnel does not support the ${spec.action} action`);
      return undefined;
  }
  const namespace = obj.metadata.namespace ?? '';
  let scope: PolicyScope = 'WorkloadSelector';
  if (spec.selector === undefined) scope = namespace === rootNamespace ? 'Global' : 'Namespace';

  const rules: Authorization['rules'][number][] = [];
  const http = new Set<string>();
  for (const [i, r] of (spec.rules ?? []).entries()) {
    const res = convertRule(action, r, namespace);
    if (res.rule !== undefined) rules.push(res.rule);
    for (const f of res.httpFields) http.add(f);
    for (const s of res.skipped) {
      problems.warning(ref, `spec.rules[${i}].${s.field}`, `"${s.value}" is not valid here; istiod skips the value, the rest of the rule is kept`);
    }
  }
  if (http.size > 0) {
    problems.warning(ref, 'spec.rules',
      `UnsupportedValue: ztunnel does not support HTTP attributes (found: ${[...http].sort().join(', ')}). ` +
      `In ambient mode you must use a waypoint proxy to enforce HTTP rules. ${action === 'Deny' ? HTTP_DENY : HTTP_ALLOW}`);
  }
  let selector: Labels | undefined;
  if (scope === 'WorkloadSelector') {
    selector = spec.selector?.matchLabels;
    if (selector === undefined) {
      // istiod attaches only policies whose label selector is non-nil: no matchLabels selects nothing.
      problems.warning(ref, 'spec.selector', 'selector without matchLabels selects no workload');
    }
  }
  return {
    authorization: { name: obj.metadata.name, namespace, scope, action, dryRun: false, rules },
    selector,
  };
}

/**
 * Keys of the selector policies that apply to a workload, sorted: policies in the workload's
 * namespace or the root namespace whose matchLabels the workload's labels satisfy.
 */
export function selectedPolicyKeys(
  policies: readonly TranslatedPolicy[],
  workloadNamespace: string,
  workloadLabels: Labels,
  rootNamespace: string,
): string[] {
  return policies
    .filter((p) => {
      const ns = p.authorization.namespace;
      return p.selector !== undefined && (ns === rootNamespace || ns === workloadNamespace) && selectsLabels(p.selector, workloadLabels);
    })
    .map((p) => policyKey(p.authorization.namespace, p.authorization.name))
    .sort();
}
