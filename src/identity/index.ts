// Public surface of the identity module: workload certificates, the CA seam and its providers, the
// istiod TLS channel pieces the xDS client shares, the certificate manager and the X.509 primitives.

export type { CaClient, CaClientOptions, LocalCa } from './ca-client.js';
export { createCaClient } from './ca-client.js';
export { BuiltinCaClient, BUILTIN_ROOT_CERT_FILE, BUILTIN_ROOT_KEY_FILE, type BuiltinCaOptions } from './builtin-ca.js';
export { FileCaClient, PLUGIN_CA_FILES, type FileCaOptions } from './file-ca.js';
export { IstiodCaClient, ISTIOD_CALL_TIMEOUT_MS, ROOT_RELOAD_DEBOUNCE_MS, type IstiodCaOptions } from './istiod-ca.js';
export {
  ISTIOD_CHANNEL_OPTIONS,
  describeRoots,
  istiodChannelCredentials,
  loadTrustRoots,
  parseTrustRoots,
  readBearerToken,
  systemRoots,
  type RootsNaming,
  type TokenNaming,
  type TrustRootSource,
  type TrustRoots,
} from './istiod-channel.js';
export {
  CREATE_CERTIFICATE_PATH,
  IMPERSONATED_IDENTITY_KEY,
  decodeCertificateRequest,
  decodeCertificateResponse,
  encodeCertificateRequest,
  encodeCertificateResponse,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from './istio-ca-proto.js';
export {
  workloadCertificateFromChain,
  dumpPemBundle,
  type WorkloadCertificate,
  type CertDump,
} from './workload-certificate.js';
export {
  CertManager,
  MAX_CONCURRENT_CSRS,
  type CertManagerInputs,
  type CertState,
  type CertificateDump,
  type RotateListener,
} from './cert-manager.js';
export type { CertPriority } from './issue-queue.js';
export type { CertSource } from './cert-source.js';
export { refreshAtMs, backoffDelayMs, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, BACKOFF_JITTER } from './refresh-policy.js';
export {
  CERT_BACKDATE_MS,
  certValidity,
  createCsr,
  createRootCa,
  generateKeyPair,
  importSigningKey,
  issueCertificate,
  parseSanUris,
  privateKeyToPem,
  readCsr,
  splitPemBundle,
  spiffeUriSans,
  uriSans,
  type KeyKind,
  type KeyPair,
  type LeafOptions,
  type RootOptions,
  type SigningCa,
  type VerifiedCsr,
} from './x509.js';
