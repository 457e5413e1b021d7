// Authorization of a certificate request: which identity an authenticated caller may have signed
// (its own, or with ImpersonatedIdentity one on its node), the CSR check, and the TTL it gets.
//
// Impersonation follows istiod's node authorizer (security/pkg/server/ca/node_auth.go): the
// caller's `ns/sa` must be a trusted node account (CA_TRUSTED_NODE_ACCOUNTS); the caller's node is
// the node of the caller's OWN pod, found from authenticated facts (the token's pod, checked
// against the pod store), never from anything the request says; and at least one pod running as
// the impersonated `ns/sa` must be scheduled on that node.

import { parseSpiffeId } from '../../tls/index.js';
import { accountOf, type Caller } from './caller.js';
import { CaRefusal } from './refusal.js';

/** istiod's CA_TRUSTED_NODE_ACCOUNTS as Istio's ambient profile sets it. */
export const DEFAULT_TRUSTED_NODE_ACCOUNTS: readonly string[] = ['istio-system/ztunnel'];
/** istiod DEFAULT_WORKLOAD_CERT_TTL (pkg/cmd DefaultWorkloadCertTTL): used when validity_duration ≤ 0. */
export const DEFAULT_WORKLOAD_CERT_TTL_SECONDS = 24 * 3600;
/** istiod MAX_WORKLOAD_CERT_TTL (pkg/cmd DefaultMaxWorkloadCertTTL): 90 days. */
export const MAX_WORKLOAD_CERT_TTL_SECONDS = 90 * 24 * 3600;

/** Answers the node questions from the control plane's pod store (see PodNodeAuthorizer). */
export interface NodeAuthorizer {
  /**
   * The node the caller's own pod is scheduled on, or undefined when that cannot be established
   * (no pod in the credential, pod unknown, UID or service account mismatch, not scheduled).
   */
  nodeOfCaller(caller: Caller): string | undefined | Promise<string | undefined>;
  /** Whether at least one pod running as `namespace/serviceAccount` is scheduled on `node`. */
  workloadOnNode(identity: { readonly namespace: string; readonly serviceAccount: string }, node: string): boolean | Promise<boolean>;
}

export interface AuthorizationPolicy {
  readonly trustDomain: string;
  /** `ns/sa` of node agents allowed to impersonate. */
  readonly trustedNodeAccounts: ReadonlySet<string>;
  /** Absent: impersonation is refused for everyone. */
  readonly nodes?: NodeAuthorizer | undefined;
}

export interface IdentityGrant {
  /** The one SPIFFE identity the certificate will carry. */
  readonly identity: string;
  readonly impersonated: boolean;
  /** The caller's node (impersonation only). */
  readonly node?: string | undefined;
}

/**
 * The identity `caller` may have signed. `impersonated`: the ImpersonatedIdentity metadata value;
 * undefined or "" = none (istiod reads it with GetStringValue, so "" means absent). Throws CaRefusal.
 */
export async function grantIdentity(caller: Caller, impersonated: string | undefined, policy: AuthorizationPolicy): Promise<IdentityGrant> {
  if (impersonated === undefined || impersonated === '') {
    const own = parseSpiffeId(caller.identity);
    if (own === undefined || own.trustDomain !== policy.trustDomain) {
      throw new CaRefusal('trust_domain', `caller identity ${caller.identity} is not in the mesh trust domain ${policy.trustDomain}`);
    }
    return { identity: caller.identity, impersonated: false };
  }
  const account = accountOf(caller);
  if (!policy.trustedNodeAccounts.has(account)) {
    throw new CaRefusal('untrusted_impersonation', `caller ${account} is not a trusted node account and may not impersonate ${impersonated}`);
  }
  const target = parseSpiffeId(impersonated);
  if (target === undefined) {
    throw new CaRefusal('invalid_identity', `ImpersonatedIdentity "${impersonated.slice(0, 256)}" is not spiffe://<trust domain>/ns/<namespace>/sa/<service account>`);
  }
  if (target.trustDomain !== policy.trustDomain) {
    throw new CaRefusal('trust_domain', `ImpersonatedIdentity ${impersonated} is not in the mesh trust domain ${policy.trustDomain}`);
  }
  if (policy.nodes === undefined) {
    throw new CaRefusal('impersonation_disabled', `impersonation of ${impersonated} refused: this CA has no node authorizer`);
  }
  // A node bound by the credential itself (static token file) is as authenticated as the token;
  // otherwise the pod store decides from the caller's pod.
  const node = caller.node ?? (await policy.nodes.nodeOfCaller(caller));
  if (node === undefined || node === '') {
    const pod = caller.pod ? ` (pod ${caller.namespace}/${caller.pod.name}${caller.pod.uid ? ` uid ${caller.pod.uid}` : ''})` : ' (its credential names no pod)';
    throw new CaRefusal('caller_node_unknown', `impersonation of ${impersonated} refused: the node of caller ${account}${pod} is unknown`);
  }
  if (!(await policy.nodes.workloadOnNode(target, node))) {
    throw new CaRefusal('workload_not_on_node', `impersonation refused: no pod running as ${target.namespace}/${target.serviceAccount} is on node ${node} (the node of caller ${account})`);
  }
  return { identity: impersonated, impersonated: true, node };
}

/**
 * The CSR must request exactly the granted identity and nothing else (istiod would silently
 * replace the CSR's SANs; Ambit refuses a CSR that asks for something else, so a confused or
 * malicious agent is told instead of being handed a certificate it did not ask for).
 */
export function checkCsrIdentity(csrUris: readonly string[], grant: IdentityGrant): void {
  if (csrUris.length !== 1 || csrUris[0] !== grant.identity) {
    throw new CaRefusal('identity_mismatch', `the CSR asks for [${csrUris.join(', ')}] but the caller may only have ${grant.identity} signed`);
  }
}

export interface TtlPolicy {
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

/**
 * Lifetime granted for `validity_duration` seconds: non-positive → the default (istiod), above the
 * max → the max (istiod refuses such a request with "requested TTL … is greater than the max
 * allowed TTL"; Ambit caps it, see README). Never more than the max.
 */
export function grantedTtlSeconds(requested: number, policy: TtlPolicy): number {
  const wanted = Number.isFinite(requested) && requested > 0 ? Math.floor(requested) : policy.defaultTtlSeconds;
  return Math.max(1, Math.min(wanted, policy.maxTtlSeconds));
}
