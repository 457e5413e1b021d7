// TLS settings of HBONE mTLS (ztunnel src/tls/lib.rs, src/tls/workload.rs): TLS 1.3 only, AES-GCM
// suites, ALPN h2, no session resumption, no SNI; secure contexts built once per workload
// certificate and cached.

import * as tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import type { WorkloadCertificate } from '../identity/index.js';
import { checkServerSpiffeIdentity } from './peer-verification.js';

export const TLS_MIN_VERSION = 'TLSv1.3' as const;
/** ChaCha20 is deliberately not offered (ztunnel offers these two only). */
export const TLS_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256';
/** Both sides offer/accept only h2. */
export const HBONE_ALPN: readonly string[] = Object.freeze(['h2']);

// One context per certificate object: parsing keys and chains costs far more than a handshake,
// and a rotated certificate is a new object, so the cache never serves stale material.
const contexts = new WeakMap<WorkloadCertificate, tls.SecureContext>();

function secureContextFor(cert: WorkloadCertificate): tls.SecureContext {
  let ctx = contexts.get(cert);
  if (!ctx) {
    ctx = tls.createSecureContext({
      cert: cert.certChainPem,
      key: cert.keyPem,
      ca: cert.rootsPem,
      minVersion: TLS_MIN_VERSION,
      maxVersion: TLS_MIN_VERSION,
      // Node routes TLS_* names in `ciphers` to the TLS 1.3 suite list (SSL_CTX_set_ciphersuites).
      ciphers: TLS_CIPHERSUITES,
      // No resumption (ztunnel disables it, so every connection re-authenticates): NO_TICKET
      // stops stateless tickets; OpenSSL then issues stateful TLS 1.3 tickets, but Node keeps no
      // server-side session cache for a TLSSocket without 'resumeSession' listeners, so they
      // can never be redeemed; and clientConnectOptions never offers a session.
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
    });
    contexts.set(cert, ctx);
  }
  return ctx;
}

/** Server context: presents leaf + intermediates, trusts exactly the certificate's roots. */
export function serverSecureContext(cert: WorkloadCertificate): tls.SecureContext {
  return secureContextFor(cert);
}

/**
 * Options for `new tls.TLSSocket(raw, serverSocketOptions(ctx))` on an accepted socket. A client
 * certificate is REQUIRED (no certificate fails the handshake); a bare TLSSocket does not reject
 * a bad chain by itself, so the caller MUST run verifyClientPeer() on 'secure' before using it.
 */
export function serverSocketOptions(ctx: tls.SecureContext): tls.TLSSocketOptions {
  return {
    isServer: true,
    secureContext: ctx,
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: [...HBONE_ALPN],
  };
}

/**
 * Options for `tls.connect({ ...clientConnectOptions(cert, sans), socket | host, port })`.
 * Presents leaf + intermediates, verifies the server chain against the roots, ignores the host
 * name and accepts the peer iff one of its SPIFFE URI SANs is in `expectedSans`. No servername is
 * set, so no SNI is sent. Only valid with tls.connect (a bare client TLSSocket skips the checks).
 */
export function clientConnectOptions(cert: WorkloadCertificate, expectedSans: readonly string[]): tls.ConnectionOptions {
  const expected = [...expectedSans];
  return {
    secureContext: secureContextFor(cert),
    minVersion: TLS_MIN_VERSION,
    maxVersion: TLS_MIN_VERSION,
    ALPNProtocols: [...HBONE_ALPN],
    rejectUnauthorized: true,
    checkServerIdentity: (_host, peer) => checkServerSpiffeIdentity(peer, expected),
  };
}
