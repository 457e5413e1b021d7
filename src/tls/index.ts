// Public surface of the tls module: SPIFFE identities, HBONE mTLS contexts and options, and the
// peer checks both directions apply.

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
