// Test-only TLS seams for HBONE: client ConnectionOptions and server SecureContext/options built
// from test/helpers/certs.ts with the wire parameters of facts §1.2–1.3 (the real ones live in src/tls).

import * as tls from 'node:tls';
import { MeshError } from '../../src/common/errors.js';
import { peerUriSans } from '../../src/hbone/index.js';
import type { TestCert } from './certs.js';

export const HBONE_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256';

function baseOptions(cert: TestCert): tls.SecureContextOptions {
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
 * hostname ignored and the peer's URI SANs matched against `expectedSans` instead.
 */
export function hboneClientTls(cert: TestCert, expectedSans: readonly string[]): tls.ConnectionOptions {
  return {
    ...baseOptions(cert),
    ALPNProtocols: ['h2'],
    rejectUnauthorized: true,
    checkServerIdentity: (_host, peer) => {
      const sans = peerUriSans(peer);
      if (sans.some((s) => expectedSans.includes(s))) return undefined;
      return new MeshError('IDENTITY_MISMATCH', `peer identity [${sans.join(', ')}] is not one of [${expectedSans.join(', ')}]`);
    },
  };
}

export function hboneServerContext(cert: TestCert): tls.SecureContext {
  return tls.createSecureContext(baseOptions(cert));
}

export function hboneServerTlsOptions(): tls.TLSSocketOptions {
  return { ALPNProtocols: ['h2'], requestCert: true, rejectUnauthorized: true };
}

/** Server-side peer check: a SPIFFE URI SAN in `trustDomain` is required; returns the first one. */
export function verifyPeerInTrustDomain(trustDomain: string): (socket: tls.TLSSocket) => string {
  return (socket) => {
    const ids = peerUriSans(socket.getPeerCertificate()).filter((u) => u.startsWith('spiffe://'));
    if (!ids.some((u) => u.startsWith(`spiffe://${trustDomain}/`))) {
      throw new MeshError('CERT_INVALID', `peer identities [${ids.join(', ')}] are not in trust domain ${trustDomain}`);
    }
    return ids[0]!;
  };
}
