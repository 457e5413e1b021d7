// The TLS alert a refused HBONE client should get (RFC 8446 §6.2), sent after Node finished the
// handshake: Node's OpenSSL verify callback accepts every chain, so we judge it on 'secure'.
//
// Why this works: TLS 1.3 post-handshake records are protected with the server application
// traffic secret, which OpenSSL reports through the key-log callback (SERVER_TRAFFIC_SECRET_0).
// The 'secure' event fires inside the OpenSSL call that processed the client Finished, before
// Node flushes anything it produced there (the NewSessionTickets), so when we write on the raw
// socket from 'secure' our alert is the FIRST record under that secret: sequence number 0
// (RFC 8446 §5.3). The tickets still queued are dropped when the socket is destroyed right after.
// Invariant checked at send time: no byte reached the raw socket since 'secure' was emitted;
// otherwise the sequence number is unknown and nothing is sent (the caller closes instead).

import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { alertRecord, isTls13Suite, secretFromKeylogLine, trafficKeys, type TlsAlertName } from './tls-alert.js';

const SERVER_SECRET_LABEL = 'SERVER_TRAFFIC_SECRET_0';

/**
 * The alert for a chain OpenSSL did not accept, by Node's verify error code: the same choice
 * OpenSSL makes when it rejects a chain itself (ssl/ssl_cert.c, ssl_x509err2alert), except that a
 * not-yet-valid certificate is certificate_expired ("expired or not currently valid", RFC 8446).
 */
export function alertForVerifyError(code: string): TlsAlertName {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'certificate_expired';
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_CHAIN_TOO_LONG':
    case 'INVALID_CA':
      return 'unknown_ca';
    case 'CERT_SIGNATURE_FAILURE':
      return 'decrypt_error';
    case 'CERT_REVOKED':
      return 'certificate_revoked';
    default:
      return 'bad_certificate';
  }
}

export interface PostHandshakeAlert {
  /**
   * Writes `alert` (fatal) on the raw socket as the first application-traffic record. Call it
   * synchronously from a 'secure' listener, then destroy the TLS socket. Returns undefined when
   * written, else why it was not (the caller then closes without an alert).
   */
  send(alert: TlsAlertName): string | undefined;
}

/**
 * Arms a freshly created server TLSSocket over `raw`: must run before the handshake starts (Node
 * starts reading on the next tick) and before the caller's own 'secure' listener is added. The
 * traffic secret is kept only until the returned object is dropped; keep it no longer than the
 * accept/refuse decision.
 */
export function armPostHandshakeAlert(tlsSocket: tls.TLSSocket, raw: net.Socket): PostHandshakeAlert {
  let secret: Buffer | undefined;
  let bytesAtSecure: number | undefined;
  const onKeylog = (line: Buffer): void => {
    secret = secretFromKeylogLine(line, SERVER_SECRET_LABEL) ?? secret;
  };
  tlsSocket.on('keylog', onKeylog);
  tlsSocket.once('secure', () => {
    tlsSocket.off('keylog', onKeylog);
    bytesAtSecure = raw.bytesWritten;
  });
  return {
    send(alert) {
      if (bytesAtSecure === undefined) return 'handshake not complete';
      if (tlsSocket.getProtocol() !== 'TLSv1.3') return `protocol ${String(tlsSocket.getProtocol())} is not TLS 1.3`;
      const suite = tlsSocket.getCipher()?.standardName;
      if (!isTls13Suite(suite)) return `cipher suite ${String(suite)} is not one we seal`;
      if (!secret) return `no ${SERVER_SECRET_LABEL} from the key log`;
      if (raw.destroyed || !raw.writable) return 'socket already closed';
      if (raw.bytesWritten !== bytesAtSecure) return 'records were sent after the handshake; sequence number unknown';
      raw.write(alertRecord(trafficKeys(suite, secret), 0n, alert));
      return undefined;
    },
  };
}
