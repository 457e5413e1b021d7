// Public surface of the tls module: SPIFFE identities, HBONE mTLS contexts and options, the peer
// checks both directions apply (one identity rule) and the TLS 1.3 alert a refused client gets.

export { parseSpiffeId, formatSpiffeId, identityFromWorkload, type Identity } from './spiffe.js';
export {
  serverSecureContext,
  serverSocketOptions,
  clientConnectOptions,
  TLS_MIN_VERSION,
  TLS_CIPHERSUITES,
  HBONE_ALPN,
} from './tls-contexts.js';
export { verifyClientPeer, peerIdentity, identityOfCertificate, checkServerSpiffeIdentity } from './peer-verification.js';
export {
  spiffeIdentityOfSans,
  requireSpiffeIdentity,
  spiffeUriOfSans,
  type SanIdentity,
  type SanIdentityResult,
} from './san-identity.js';
export {
  alertRecord,
  openRecord,
  sealRecord,
  trafficKeys,
  hkdfExpandLabel,
  secretFromKeylogLine,
  TLS_ALERT,
  type TlsAlertName,
  type Tls13Suite,
  type TrafficKeys,
} from './tls-alert.js';
export { armPostHandshakeAlert, alertForVerifyError, type PostHandshakeAlert } from './server-alert.js';
