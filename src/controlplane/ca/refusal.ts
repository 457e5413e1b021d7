// Why the CA server refused a request: a closed set of reasons (the metric label), each with the
// gRPC status the caller receives. A refusal is a MeshError CA_DENIED carrying both.

import { status } from '@grpc/grpc-js';
import { MeshError } from '../../common/errors.js';

/**
 * Reason → gRPC status. Authentication problems are UNAUTHENTICATED (as istiod); an authenticated
 * caller asking for an identity it may not have is PERMISSION_DENIED (istiod answers an opaque
 * UNAUTHENTICATED here; Ambit names the rule that failed, see README); a malformed request is
 * INVALID_ARGUMENT (istiod's CSRError); a check that could not run is UNAVAILABLE (retryable).
 */
export const REFUSAL_STATUS = {
  /** No credential, or none that verified (bad token, unverifiable certificate). */
  unauthenticated: status.UNAUTHENTICATED,
  /** `clusterid` metadata names another cluster (or is repeated). */
  cluster_id: status.UNAUTHENTICATED,
  /** The token reviewer (Kubernetes API) could not answer. */
  authenticator_unavailable: status.UNAVAILABLE,
  /** ImpersonatedIdentity from a caller not in the trusted node accounts. */
  untrusted_impersonation: status.PERMISSION_DENIED,
  /** Impersonation is off: no node authorizer is configured. */
  impersonation_disabled: status.PERMISSION_DENIED,
  /** The trusted caller's own node could not be established (pod unknown, UID or SA mismatch). */
  caller_node_unknown: status.PERMISSION_DENIED,
  /** No pod with the impersonated identity runs on the caller's node. */
  workload_not_on_node: status.PERMISSION_DENIED,
  /** The identity is not in the mesh trust domain. */
  trust_domain: status.PERMISSION_DENIED,
  /** The CSR asks for another identity than the one granted. */
  identity_mismatch: status.PERMISSION_DENIED,
  /** The CSR does not parse, its signature does not verify, or its key is not EC P-256. */
  invalid_csr: status.INVALID_ARGUMENT,
  /** ImpersonatedIdentity is not a SPIFFE identity `spiffe://<td>/ns/<ns>/sa/<sa>`. */
  invalid_identity: status.INVALID_ARGUMENT,
  /** The CA is shutting down. */
  closed: status.UNAVAILABLE,
  /** Signing itself failed (CA expired, key problem). */
  sign_error: status.INTERNAL,
} as const;

export type RefusalReason = keyof typeof REFUSAL_STATUS;
export const REFUSAL_REASONS = Object.keys(REFUSAL_STATUS) as readonly RefusalReason[];

export class CaRefusal extends MeshError {
  readonly reason: RefusalReason;
  readonly grpcCode: status;

  constructor(reason: RefusalReason, message: string, options: { cause?: unknown } = {}) {
    super('CA_DENIED', message, options);
    this.reason = reason;
    this.grpcCode = REFUSAL_STATUS[reason];
  }
}
