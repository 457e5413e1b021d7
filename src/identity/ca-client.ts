// The CA seam: anything that turns a CSR into a certificate chain (built-in root, Istio plug-in CA
// files, istiod over gRPC), plus the registry that picks one by `config.ca.provider`.

import type { CaConfig } from '../config/types.js';
import { DEFAULTS } from '../config/defaults.js';
import type { Logger } from '../common/log.js';
import { MeshError } from '../common/errors.js';
import { BuiltinCaClient } from './builtin-ca.js';
import { FileCaClient } from './file-ca.js';
import { IstiodCaClient } from './istiod-ca.js';

/**
 * A certificate authority as ztunnel sees it (istio.v1.auth.IstioCertificateService).
 * `sign` returns the chain exactly like IstioCertificateResponse.cert_chain: element 0 the leaf,
 * then intermediates, and the LAST element the trust bundle (one or more concatenated root PEMs).
 * Errors are MeshError CA_ERROR (the request was refused or failed) or CA_CONFIG.
 */
export interface CaClient {
  readonly name: string;
  /** `csrPem`: PKCS#10 with one URI SAN = `spiffeId`; `ttlSeconds`: requested lifetime (the CA may cap it). */
  sign(csrPem: string, spiffeId: string, ttlSeconds: number): Promise<string[]>;
  close(): void;
}

/**
 * A CA whose signing key lives in this process (builtin, plug-in files). Besides workload leaves it
 * describes its own chain, so a server can verify a leaf it issued, and issues TLS server
 * certificates under the same root (the control plane's CA endpoint presents one).
 */
export interface LocalCa extends CaClient {
  /** The trust bundle every issued chain ends with: one or more concatenated root PEMs. */
  readonly rootCertPem: string;
  /** The issuing CA first, then its parents up to (excluding) the roots; empty when a root signs directly. */
  readonly intermediatesPem: readonly string[];
  /** Certificate for a TLS server reached as `names` (DNS names or IPs): leaf + intermediates, and its key. */
  issueServerCertificate(names: readonly string[], ttlSeconds: number): Promise<{ certChainPem: string; keyPem: string }>;
}

export interface CaClientOptions {
  /** Builtin root subject `O=<trustDomain>` (default `ambit`). */
  readonly trustDomain?: string;
  /** Clock in ms since the epoch (tests); default Date.now. */
  readonly now?: () => number;
  /** istiod provider: ask for other identities by impersonation (node agent, the default) or only for the caller's own (waypoint). */
  readonly impersonate?: boolean;
}

/** Builds the CA client named by `config.provider`. */
export async function createCaClient(config: CaConfig, logger: Logger, options: CaClientOptions = {}): Promise<CaClient> {
  const provider = config.provider;
  switch (provider) {
    case 'builtin':
      return BuiltinCaClient.open({
        stateDir: config.stateDir,
        trustDomain: options.trustDomain,
        logger,
        ...(options.now ? { now: options.now } : {}),
      });
    case 'file':
      return FileCaClient.open({ dir: config.pluginCertsDir, logger, ...(options.now ? { now: options.now } : {}) });
    case 'istiod':
      return IstiodCaClient.open({
        address: config.address,
        rootCa: config.rootCa,
        altHostname: config.altHostname,
        authToken: config.authToken,
        clusterId: config.clusterId ?? DEFAULTS.clusterId,
        headers: config.headers,
        logger,
        ...(options.impersonate === false ? { impersonate: false } : {}),
      });
    default: {
      const unknown: never = provider;
      throw new MeshError('CA_CONFIG', `unknown CA provider "${String(unknown)}"`);
    }
  }
}
