// Who is on the other end of an HBONE mTLS connection: chain and EKU checks beyond OpenSSL's,
// the trust-domain rule for inbound clients and the expected-SAN rule for outbound servers. Both
// directions take the peer's identity from san-identity.ts (exactly one SPIFFE identity).

import type * as tls from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { MeshError } from '../common/errors.js';
import { requireSpiffeIdentity, spiffeIdentityOfSans } from './san-identity.js';
import type { Identity } from './spiffe.js';

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

interface VerifyHandle {
  verifyError?: () => (Error & { code?: string }) | null;
}

/** EKU present and lacking `oid` → refuse; an absent EKU means "any purpose" (as webpki). */
function ekuAllows(eku: readonly string[] | undefined, oid: string): boolean {
  return eku === undefined || eku.length === 0 || eku.includes(oid);
}

/**
 * The `checkServerIdentity` of outbound HBONE (and the pool's own re-check): the host name is
 * ignored; accepted iff the EKU allows serverAuth and the leaf's one SPIFFE identity (see
 * san-identity.ts) is in `expectedSans`. A leaf with several SPIFFE identities is refused even if
 * one of them is expected (CERT_INVALID); a sole unexpected one is IDENTITY_MISMATCH.
 * Returns (does not throw) the error, as Node's contract requires.
 */
export function checkServerSpiffeIdentity(peer: tls.PeerCertificate, expectedSans: readonly string[]): Error | undefined {
  if (!ekuAllows(peer.ext_key_usage, EKU_SERVER_AUTH)) {
    return new MeshError('CERT_INVALID', 'server certificate is not valid for serverAuth (extended key usage)');
  }
  const r = spiffeIdentityOfSans(peer.subjectaltname);
  if (!r.ok) return new MeshError('CERT_INVALID', `server certificate refused: ${r.problem}`);
  if (expectedSans.includes(r.identity.uri)) return undefined;
  return new MeshError(
    'IDENTITY_MISMATCH',
    `identity mismatch: server presented ${r.identity.uri}, expected one of [${expectedSans.join(', ')}]`,
  );
}

/**
 * Inbound check after the 'secure' event of a server TLSSocket: the client chain verified against
 * our roots, its EKU allows clientAuth, the leaf carries exactly one SPIFFE identity (CERT_INVALID
 * otherwise) and that identity is in our trust domain (IDENTITY_MISMATCH otherwise); namespace and
 * service account are left to RBAC. Returns that identity, the one RBAC, metrics and logs use.
 * Throws MeshError; the caller must then refuse the connection.
 */
export function verifyClientPeer(socket: tls.TLSSocket, ownTrustDomain: string): Identity {
  // A TLSSocket not created by tls.Server never evaluates the verify result OpenSSL recorded;
  // read it where Node's own server does. Fail closed if that is not possible.
  const handle = (socket as unknown as { _handle?: VerifyHandle | null })._handle;
  if (typeof handle?.verifyError === 'function') {
    const err = handle.verifyError();
    if (err) throw new MeshError('CERT_INVALID', `client certificate rejected: ${err.code ?? err.message}`, { cause: err });
  } else if (!socket.authorized) {
    throw new MeshError('CERT_INVALID', 'client certificate could not be verified (socket already closed?)');
  }
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) throw new MeshError('CERT_INVALID', 'client presented no certificate');
  if (!ekuAllows(leaf.keyUsage, EKU_CLIENT_AUTH)) {
    throw new MeshError('CERT_INVALID', 'client certificate is not valid for clientAuth (extended key usage)');
  }
  const { uri, id } = requireSpiffeIdentity(leaf.subjectAltName, 'client');
  if (id.trustDomain !== ownTrustDomain) {
    throw new MeshError('IDENTITY_MISMATCH', `client identity ${uri} is not in trust domain "${ownTrustDomain}"`);
  }
  return id;
}

/** The identity of a leaf certificate under the one-SPIFFE-identity rule; undefined if not exactly one. */
export function identityOfCertificate(leaf: X509Certificate): Identity | undefined {
  const r = spiffeIdentityOfSans(leaf.subjectAltName);
  return r.ok ? r.identity.id : undefined;
}

/** The peer's identity under the same rule, if its leaf has exactly one. */
export function peerIdentity(socket: tls.TLSSocket): Identity | undefined {
  const leaf = socket.getPeerX509Certificate();
  return leaf ? identityOfCertificate(leaf) : undefined;
}
