// Public surface of the control plane's CA: the Istio-compatible IstioCertificateService (mountable
// on any grpc-js server), its mesh root, caller authentication seams, authorization rules and metrics.

export { CaService, CA_SERVICE_DEFAULTS, ISTIO_CERTIFICATE_SERVICE, type CaServiceOptions } from './ca-service.js';
export { CaServer, CA_SERVER_CERT_TTL_SECONDS, CA_SERVER_CLOSE_TIMEOUT_MS, type CaServerOptions } from './ca-server.js';
export { caServerCredentials, type CaServerCredentials, type ServingCertificate } from './server-credentials.js';
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

import { CaServer } from './ca-server.js';
import { CaService, type CaServiceOptions } from './ca-service.js';
import { MeshSigner, type MeshRootSource } from './mesh-signer.js';

/**
 * Standalone start (tests, single-purpose use): loads the root, builds the service and serves it
 * on its own TLS port. The caller owns `tokens` (start/close it) and closes the returned server,
 * then the service and the signer.
 */
export async function startCaServer(
  options: Omit<CaServiceOptions, 'signer'> & { readonly root: MeshRootSource; readonly host?: string; readonly port?: number; readonly serverNames?: readonly string[] },
): Promise<{ server: CaServer; service: CaService; signer: MeshSigner; close(): Promise<void> }> {
  const signer = await MeshSigner.open({ source: options.root, trustDomain: options.trustDomain ?? 'cluster.local', logger: options.logger, ...(options.now ? { now: options.now } : {}) });
  const service = new CaService({ ...options, signer });
  service.start();
  const server = new CaServer({ service, signer, logger: options.logger, host: options.host, port: options.port, serverNames: options.serverNames });
  try {
    await server.start();
  } catch (err) {
    signer.close();
    throw err;
  }
  return {
    server,
    service,
    signer,
    async close() {
      await server.close();
      service.close();
      signer.close();
    },
  };
}
