// Who is on the other end of an HBONE mTLS connection: chain and EKU checks beyond OpenSSL's,
// the trust-domain rule for inbound clients and the expected-SAN rule for outbound servers.

import type * as tls from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { MeshError } from '../common/errors.js';
import { parseSanUris } from '../identity/index.js';
import { parseSpiffeId, type Identity } from './spiffe.js';

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

interface VerifyHandle {
  verifyError?: () => (Error & { code?: string }) | null;
}

/** Parseable SPIFFE URI SANs of a leaf, in certificate order, with their original text. */
function spiffeSans(san: string | undefined): Array<{ uri: string; id: Identity }> {
  const out: Array<{ uri: string; id: Identity }> = [];
  for (const uri of parseSanUris(san)) {
    const id = parseSpiffeId(uri);
    if (id) out.push({ uri, id });
  }
  return out;
}

/** EKU present and lacking `oid` → refuse; an absent EKU means "any purpose" (as webpki). */
function ekuAllows(eku: readonly string[] | undefined, oid: string): boolean {
  return eku === undefined || eku.length === 0 || eku.includes(oid);
}

/**
 * The `checkServerIdentity` of outbound HBONE: the host name is ignored; accepted iff any
 * SPIFFE URI SAN of the peer leaf equals any expected identity, and its EKU allows serverAuth.
 * Returns (does not throw) the error, as Node's contract requires.
 */
export function checkServerSpiffeIdentity(peer: tls.PeerCertificate, expectedSans: readonly string[]): Error | undefined {
  if (!ekuAllows(peer.ext_key_usage, EKU_SERVER_AUTH)) {
    return new MeshError('CERT_INVALID', 'server certificate is not valid for serverAuth (extended key usage)');
  }
  const sans = spiffeSans(peer.subjectaltname);
  if (sans.some((s) => expectedSans.includes(s.uri))) return undefined;
  return new MeshError(
    'IDENTITY_MISMATCH',
    `identity mismatch: server presented [${sans.map((s) => s.uri).join(', ')}], expected one of [${expectedSans.join(', ')}]`,
  );
}

/**
 * Inbound check after the 'secure' event of a server TLSSocket: the client chain verified against
 * our roots, its EKU allows clientAuth, and at least one SPIFFE SAN is in our trust domain
 * (namespace and service account are left to RBAC). Returns the FIRST parseable SPIFFE SAN.
 * Throws MeshError CERT_INVALID or IDENTITY_MISMATCH; the caller must then destroy the socket.
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
  const sans = spiffeSans(leaf.subjectAltName);
  const first = sans[0];
  if (!first) throw new MeshError('IDENTITY_MISMATCH', 'client certificate has no SPIFFE identity');
  if (!sans.some((s) => s.id.trustDomain === ownTrustDomain)) {
    throw new MeshError(
      'IDENTITY_MISMATCH',
      `client identity ${first.uri} is not in trust domain "${ownTrustDomain}"`,
    );
  }
  return first.id;
}

/** The first parseable SPIFFE URI SAN of a leaf certificate. */
export function identityOfCertificate(leaf: X509Certificate): Identity | undefined {
  return spiffeSans(leaf.subjectAltName)[0]?.id;
}

/** The peer's identity: first parseable SPIFFE URI SAN of its leaf, if any. */
export function peerIdentity(socket: tls.TLSSocket): Identity | undefined {
  const leaf = socket.getPeerX509Certificate();
  return leaf ? identityOfCertificate(leaf) : undefined;
}
