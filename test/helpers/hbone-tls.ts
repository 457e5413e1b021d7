// Test-only TLS seams for HBONE: client ConnectionOptions and server SecureContext/options built
// from test/helpers/certs.ts with the wire parameters of ztunnel src/tls/lib.rs and
// src/tls/workload.rs (the real ones live in src/tls).

import * as tls from 'node:tls';
import { MeshError } from '../../src/common/errors.js';
import { checkServerSpiffeIdentity, requireSpiffeIdentity } from '../../src/tls/index.js';
import type { TestCert } from './certs.js';

export const HBONE_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256';

/** HBONE's TLS parameters with `cert` presented and its root trusted (TLS 1.3 only, AES-GCM suites). */
export function hboneTlsBase(cert: TestCert): tls.SecureContextOptions {
  return {
    cert: cert.certChainPem,
    key: cert.keyPem,
    ca: cert.rootPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    // Node routes TLS_-prefixed names in `ciphers` to the TLS 1.3 suite list (SSL_CTX_set_ciphersuites).
    ciphers: HBONE_CIPHERSUITES,
  };
}

/**
 * Outbound options: TLS 1.3 only, ALPN h2, our cert presented, chain checked against our root,
 * hostname ignored and the peer's one SPIFFE identity matched against `expectedSans` instead
 * (the production rule, src/tls/peer-verification.ts).
 */
export function hboneClientTls(cert: TestCert, expectedSans: readonly string[]): tls.ConnectionOptions {
  return {
    ...hboneTlsBase(cert),
    ALPNProtocols: ['h2'],
    rejectUnauthorized: true,
    checkServerIdentity: (_host, peer) => checkServerSpiffeIdentity(peer, expectedSans),
  };
}

export function hboneServerContext(cert: TestCert): tls.SecureContext {
  return tls.createSecureContext(hboneTlsBase(cert));
}

export function hboneServerTlsOptions(): tls.TLSSocketOptions {
  return { ALPNProtocols: ['h2'], requestCert: true, rejectUnauthorized: true };
}

/** Server-side peer check: the leaf's one SPIFFE identity (production rule) must be in `trustDomain`. */
export function verifyPeerInTrustDomain(trustDomain: string): (socket: tls.TLSSocket) => string {
  return (socket) => {
    const { uri, id } = requireSpiffeIdentity(socket.getPeerCertificate().subjectaltname, 'client');
    if (id.trustDomain !== trustDomain) throw new MeshError('IDENTITY_MISMATCH', `peer identity ${uri} is not in trust domain ${trustDomain}`);
    return uri;
  };
}
