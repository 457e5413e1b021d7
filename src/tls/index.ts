// Public surface of the tls module: SPIFFE identities, HBONE mTLS contexts and options, and the
// peer checks both directions apply (one identity rule).

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
