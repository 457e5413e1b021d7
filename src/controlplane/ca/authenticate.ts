// Caller authentication, fail closed: the `clusterid` check, then a client certificate verified
// against the mesh root, else a bearer token through the configured TokenAuthenticator.
//
// Order as istiod (security/pkg/server/ca/server.go: client certificate authenticator first, then
// the JWT ones); the first credential that verifies decides. A presented certificate that does not
// verify gives nothing (grpc-js hides unverified peers), so the caller still needs a valid token.

import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { spiffeIdentityOfSans } from '../../tls/index.js';
import type { Caller, TokenAuthenticator } from './caller.js';
import { CaRefusal } from './refusal.js';
import type { MeshSigner } from './mesh-signer.js';

export interface AuthenticationInput {
  /** Values of the `authorization` metadata (grpc-js keeps repeats). */
  readonly authorization: readonly string[];
  /** Values of the `clusterid` metadata. */
  readonly clusterId: readonly string[];
  /** The client certificate the TLS layer verified (grpc-js AuthContext.sslPeerCertificate). */
  readonly peerCertificate?: PeerCertificate | undefined;
  readonly peer: string;
}

export interface AuthenticationDeps {
  readonly trustDomain: string;
  readonly clusterId: string;
  readonly signer: MeshSigner;
  readonly tokens?: TokenAuthenticator | undefined;
  readonly nowMs: number;
}

const BEARER = 'Bearer ';

/** The caller, or a CaRefusal (unauthenticated / cluster_id / authenticator_unavailable). */
export async function authenticateCaller(input: AuthenticationInput, deps: AuthenticationDeps): Promise<Caller> {
  checkClusterId(input.clusterId, deps.clusterId);
  if (input.peerCertificate?.raw) return callerFromCertificate(input.peerCertificate.raw, input.peer, deps);
  if (input.authorization.length === 0) throw new CaRefusal('unauthenticated', 'no credential: present a mesh client certificate or an authorization: Bearer token');
  if (input.authorization.length > 1) throw new CaRefusal('unauthenticated', 'more than one authorization header');
  const header = input.authorization[0] as string;
  if (!header.startsWith(BEARER) || header.length === BEARER.length) throw new CaRefusal('unauthenticated', 'the authorization header is not "Bearer <token>"');
  if (deps.tokens === undefined) throw new CaRefusal('unauthenticated', 'bearer tokens are not accepted by this CA (no token authenticator configured)');
  const token = header.slice(BEARER.length).trim();
  let subject;
  try {
    subject = await deps.tokens.authenticate(token);
  } catch (err) {
    throw new CaRefusal('authenticator_unavailable', `token authenticator ${deps.tokens.name} could not check the token: ${(err as Error).message}`, { cause: err });
  }
  if (subject === undefined) throw new CaRefusal('unauthenticated', `the bearer token was refused by ${deps.tokens.name}`);
  return {
    source: 'token',
    identity: `spiffe://${deps.trustDomain}/ns/${subject.namespace}/sa/${subject.serviceAccount}`,
    namespace: subject.namespace,
    serviceAccount: subject.serviceAccount,
    pod: subject.pod,
    node: subject.node,
    peer: input.peer,
  };
}

/**
 * istiod serves only its own cluster's callers from its own API server; a request naming another
 * cluster (or two) is refused. Absent = this cluster, as istiod (kubeauth/kube_jwt.go getKubeClient).
 */
function checkClusterId(values: readonly string[], expected: string): void {
  if (values.length === 0) return;
  if (values.length > 1) throw new CaRefusal('cluster_id', `clusterid metadata sent ${values.length} times`);
  if (values[0] !== expected) throw new CaRefusal('cluster_id', `clusterid "${values[0]}" is not this cluster ("${expected}")`);
}

/**
 * The TLS layer verified the chain against the roots the server was configured with; this checks
 * again against the mesh CA itself, so mounting the service on a server with other client roots
 * cannot widen who is accepted. Identity: the leaf's one SPIFFE URI SAN, in the mesh trust domain.
 */
function callerFromCertificate(raw: Buffer, peer: string, deps: AuthenticationDeps): Caller {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(raw);
  } catch (err) {
    throw new CaRefusal('unauthenticated', 'the client certificate does not parse', { cause: err });
  }
  const problem = deps.signer.verifyLeaf(leaf, deps.nowMs);
  if (problem !== undefined) throw new CaRefusal('unauthenticated', `client certificate refused: ${problem}`);
  const san = spiffeIdentityOfSans(leaf.subjectAltName);
  if (!san.ok) throw new CaRefusal('unauthenticated', `client certificate refused: ${san.problem}`);
  const { id, uri } = san.identity;
  if (id.trustDomain !== deps.trustDomain) {
    throw new CaRefusal('trust_domain', `client certificate identity ${uri} is not in the mesh trust domain ${deps.trustDomain}`);
  }
  return { source: 'mtls', identity: uri, namespace: id.namespace, serviceAccount: id.serviceAccount, peer };
}
