// Public surface of the control plane's CA: the Istio-compatible IstioCertificateService (mountable
// on any grpc-js server), its mesh root, caller authentication seams, authorization rules and metrics.

export { CaService, CA_SERVICE_DEFAULTS, ISTIO_CERTIFICATE_SERVICE, type CaServiceOptions } from './ca-service.js';
export { CaServer, CA_SERVER_CERT_TTL_SECONDS, CA_SERVER_CLOSE_TIMEOUT_MS, startCaServer, type CaServerOptions, type StartedCaServer } from './ca-server.js';
export { caServerCredentials, type CaServerCredentials } from './server-credentials.js';
export { MeshSigner, meshRootDescription, type MeshRootSource, type MeshSignerOptions } from './mesh-signer.js';
export { accountOf, type Caller, type CallerPod, type CallerSource, type TokenAuthenticator, type TokenSubject } from './caller.js';
export { authenticateCaller, type AuthenticationDeps, type AuthenticationInput } from './authenticate.js';
export {
  DEFAULT_TRUSTED_NODE_ACCOUNTS,
  DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
  MAX_WORKLOAD_CERT_TTL_SECONDS,
  checkCsrIdentity,
  grantIdentity,
  grantedTtlSeconds,
  type AuthorizationPolicy,
  type IdentityGrant,
  type NodeAuthorizer,
  type TtlPolicy,
} from './authorize.js';
export { PodNodeAuthorizer } from './pod-node-authorizer.js';
export { StaticTokenAuthenticator, parseTokenFile, TOKEN_FILE_DEBOUNCE_MS, type StaticTokenAuthenticatorOptions } from './static-token-authenticator.js';
export { KubeTokenReviewer, subjectOfTokenReview, ISTIO_CA_AUDIENCES, TOKEN_REVIEW_TIMEOUT_MS, type KubeTokenReviewerOptions } from './kube-token-reviewer.js';
export { CaRefusal, REFUSAL_REASONS, REFUSAL_STATUS, type RefusalReason } from './refusal.js';
export { CaMetrics } from './ca-metrics.js';
export { IssuanceLog, DEFAULT_RECENT_LIMIT, type IssuanceRecord } from './issuance-log.js';
