// Public surface of the ADS server module: the resource cache the control plane feeds, and the
// delta ADS server that serves it to ztunnel-style clients over plaintext and TLS gRPC.

export { ResourceCache, type CacheEntry, type CacheChange, type CacheListener, type TypeView } from './resource-cache.js';
export { DEFAULT_DEBOUNCE, type DebounceOptions } from './debouncer.js';
export {
  AdsServer,
  PLAINTEXT_ADS_PORT,
  TLS_ADS_PORT,
  DEFAULT_CLOSE_DEADLINE_MS,
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTION_AGE_MS,
  DEFAULT_MAX_TYPES_PER_STREAM,
  type AdsServerOptions,
  type AdsListenOptions,
  type AdsTlsListenOptions,
  type AdsDebugView,
} from './ads-server.js';
export type { AdsConnectionDebug, AdsTypeDebug } from './ads-connection.js';
export { SendBudget, DEFAULT_LARGE_BYTES_IN_FLIGHT, DEFAULT_SMALL_RESPONSE_BYTES, type SendBudgetOptions, type SendGrant } from './send-budget.js';
export { allowAnyClient, requireSpiffeClient, type AdsAuthenticator, type AdsCallInfo, type AdsListenerKind, type AdsPrincipal } from './authenticator.js';
export type { ServingCertificate, ClientCertificatePolicy } from './tls-credentials.js';
