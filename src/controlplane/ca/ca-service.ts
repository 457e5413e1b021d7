// The control plane's Istio-compatible CA: istio.v1.auth.IstioCertificateService/CreateCertificate
// as a grpc-js service that can be added to any grpc-js Server (the control plane mounts it next to
// its xDS service on 15012). Authenticate → authorize → verify the CSR → sign → answer like istiod.

import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import type { Logger } from '../../common/log.js';
import { MeshError } from '../../common/errors.js';
import {
  CREATE_CERTIFICATE_PATH,
  IMPERSONATED_IDENTITY_KEY,
  decodeCertificateRequest,
  decodeCertificateResponse,
  encodeCertificateRequest,
  encodeCertificateResponse,
  readCsr,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../../identity/index.js';
import { authenticateCaller } from './authenticate.js';
import {
  DEFAULT_TRUSTED_NODE_ACCOUNTS,
  DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
  MAX_WORKLOAD_CERT_TTL_SECONDS,
  checkCsrIdentity,
  grantIdentity,
  grantedTtlSeconds,
  type AuthorizationPolicy,
  type IdentityGrant,
  type NodeAuthorizer,
  type TtlPolicy,
} from './authorize.js';
import { CaMetrics } from './ca-metrics.js';
import type { Caller, TokenAuthenticator } from './caller.js';
import { IssuanceLog, type IssuanceRecord } from './issuance-log.js';
import { meshRootDescription, type MeshSigner } from './mesh-signer.js';
import { CaRefusal } from './refusal.js';

/** What the control plane sees of the CA's defaults (istiod's, see README). */
export const CA_SERVICE_DEFAULTS = {
  trustDomain: 'cluster.local',
  clusterId: 'Kubernetes',
  trustedNodeAccounts: DEFAULT_TRUSTED_NODE_ACCOUNTS,
  defaultTtlSeconds: DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
  maxTtlSeconds: MAX_WORKLOAD_CERT_TTL_SECONDS,
} as const;

export interface CaServiceOptions {
  readonly signer: MeshSigner;
  readonly logger: Logger;
  /** Only SPIFFE identities in this trust domain are signed; default cluster.local. */
  readonly trustDomain?: string;
  /** The `clusterid` a caller may name; default Kubernetes. */
  readonly clusterId?: string;
  /** Bearer tokens (static file or TokenReview); absent = client certificates only. */
  readonly tokens?: TokenAuthenticator;
  /** Node questions of impersonation; absent = impersonation refused. */
  readonly nodes?: NodeAuthorizer;
  /** CA_TRUSTED_NODE_ACCOUNTS, `ns/sa` each; default [istio-system/ztunnel]. */
  readonly trustedNodeAccounts?: readonly string[];
  /** DEFAULT_WORKLOAD_CERT_TTL, seconds; default 24 h. */
  readonly defaultTtlSeconds?: number;
  /** MAX_WORKLOAD_CERT_TTL, seconds; default 90 days. */
  readonly maxTtlSeconds?: number;
  /** Where the metrics go; default a private registry (see `registry`). */
  readonly registry?: Registry;
  /** Length of the recent-decisions list; default 100. */
  readonly recentLimit?: number;
  readonly now?: () => number;
}

/** The service definition, built from the same codec the node agent's istiod client uses. */
export const ISTIO_CERTIFICATE_SERVICE: grpc.ServiceDefinition = {
  CreateCertificate: {
    path: CREATE_CERTIFICATE_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeCertificateRequest,
    requestDeserialize: (b: Buffer) => decodeCertificateRequest(b),
    responseSerialize: encodeCertificateResponse,
    responseDeserialize: (b: Buffer) => decodeCertificateResponse(b),
  },
};

export class CaService {
  readonly registry: Registry;
  readonly #options: CaServiceOptions;
  readonly #policy: AuthorizationPolicy;
  readonly #ttl: TtlPolicy;
  readonly #trustDomain: string;
  readonly #clusterId: string;
  readonly #metrics: CaMetrics;
  readonly #log: IssuanceLog;
  readonly #now: () => number;
  #closed = false;

  /** Validates the options (MeshError CA_CONFIG); the signer is already loaded. */
  constructor(options: CaServiceOptions) {
    this.#options = options;
    this.#trustDomain = options.trustDomain ?? CA_SERVICE_DEFAULTS.trustDomain;
    this.#clusterId = options.clusterId ?? CA_SERVICE_DEFAULTS.clusterId;
    const trusted = options.trustedNodeAccounts ?? CA_SERVICE_DEFAULTS.trustedNodeAccounts;
    for (const a of trusted) {
      if (!/^[^/\s]+\/[^/\s]+$/.test(a)) throw new MeshError('CA_CONFIG', `trusted node account "${a}" is not namespace/serviceAccount`);
    }
    if (this.#trustDomain === '' || this.#trustDomain.includes('/')) throw new MeshError('CA_CONFIG', `trust domain "${this.#trustDomain}" is invalid`);
    this.#policy = { trustDomain: this.#trustDomain, trustedNodeAccounts: new Set(trusted), nodes: options.nodes };
    this.#ttl = {
      defaultTtlSeconds: options.defaultTtlSeconds ?? CA_SERVICE_DEFAULTS.defaultTtlSeconds,
      maxTtlSeconds: options.maxTtlSeconds ?? CA_SERVICE_DEFAULTS.maxTtlSeconds,
    };
    if (!(this.#ttl.maxTtlSeconds >= 1) || !(this.#ttl.defaultTtlSeconds >= 1) || this.#ttl.defaultTtlSeconds > this.#ttl.maxTtlSeconds) {
      throw new MeshError('CA_CONFIG', `workload certificate TTLs: default ${this.#ttl.defaultTtlSeconds}s must be ≥ 1 s and ≤ max ${this.#ttl.maxTtlSeconds}s`);
    }
    this.registry = options.registry ?? new Registry();
    this.#metrics = new CaMetrics(this.registry);
    this.#log = new IssuanceLog(options.recentLimit);
    this.#now = options.now ?? Date.now;
  }

  /** Logs what the CA accepts; nothing to open (the signer is loaded, authenticators are owned by the caller). */
  start(): void {
    this.#options.logger.info(
      {
        root: meshRootDescription(this.#options.signer.source),
        trustDomain: this.#trustDomain,
        clusterId: this.#clusterId,
        tokens: this.#options.tokens?.name ?? 'none',
        impersonation: this.#options.nodes ? [...this.#policy.trustedNodeAccounts] : 'off',
        maxTtlSeconds: this.#ttl.maxTtlSeconds,
      },
      'CA service ready',
    );
  }

  /**
   * Adds IstioCertificateService to `server`. Mount it only on a TLS server: bearer tokens must
   * not cross plaintext, and client certificates need `caServerCredentials` (it asks for one).
   */
  addTo(server: grpc.Server): void {
    server.addService(ISTIO_CERTIFICATE_SERVICE, { CreateCertificate: this.#handle as grpc.UntypedHandleCall });
  }

  /** New calls are refused UNAVAILABLE from now on; calls in flight finish. */
  close(): void {
    this.#closed = true;
  }

  destroy(): void {
    this.#closed = true;
  }

  /** The recent decisions, newest first (debug endpoint). */
  recent(): IssuanceRecord[] {
    return this.#log.list();
  }

  /** The root bundle agents must trust (CA_ROOT_CA). */
  get rootCertPem(): string {
    return this.#options.signer.rootCertPem;
  }

  readonly #handle: grpc.handleUnaryCall<IstioCertificateRequest, IstioCertificateResponse> = (call, callback) => {
    this.#createCertificate(call).then(
      (certChain) => callback(null, { certChain }),
      (err: unknown) => {
        const refusal = err instanceof CaRefusal ? err : new CaRefusal('sign_error', `internal error: ${(err as Error).message}`, { cause: err });
        callback({ code: refusal.grpcCode, details: refusal.message });
      },
    );
  };

  async #createCertificate(call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>): Promise<string[]> {
    this.#metrics.received();
    const peer = call.getPeer();
    const request = call.request;
    const impersonatedValue = request.metadata?.[IMPERSONATED_IDENTITY_KEY];
    let caller: Caller | undefined;
    let grant: IdentityGrant | undefined;
    try {
      if (this.#closed) throw new CaRefusal('closed', 'the CA is shutting down');
      const nowMs = this.#now();
      caller = await authenticateCaller(
        {
          authorization: call.metadata.get('authorization').map(String),
          clusterId: call.metadata.get('clusterid').map(String),
          peerCertificate: call.getAuthContext().sslPeerCertificate,
          peer,
        },
        { trustDomain: this.#trustDomain, clusterId: this.#clusterId, signer: this.#options.signer, tokens: this.#options.tokens, nowMs },
      );
      grant = await grantIdentity(caller, impersonatedValue, this.#policy);
      const started = process.hrtime.bigint();
      let csrUris: readonly string[];
      try {
        csrUris = (await readCsr(request.csr)).uris;
      } catch (err) {
        throw new CaRefusal('invalid_csr', `invalid CSR: ${(err as Error).message}`, { cause: err });
      }
      checkCsrIdentity(csrUris, grant);
      const ttlSeconds = grantedTtlSeconds(request.validityDurationSeconds, this.#ttl);
      let chain: string[];
      try {
        chain = await this.#options.signer.sign(request.csr, grant.identity, ttlSeconds);
      } catch (err) {
        throw new CaRefusal('sign_error', `signing failed: ${(err as Error).message}`, { cause: err });
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.#metrics.issued(grant.impersonated, seconds);
      const leaf = new X509Certificate(chain[0] as string);
      this.#record(caller, peer, impersonatedValue, grant, { serialNumber: leaf.serialNumber, notAfter: new Date(leaf.validTo).toISOString(), ttlSeconds });
      this.#options.logger.debug({ identity: grant.identity, caller: caller.identity, node: grant.node, ttlSeconds, peer }, 'CA issued a certificate');
      return chain;
    } catch (err) {
      const refusal = err instanceof CaRefusal ? err : new CaRefusal('sign_error', `internal error: ${(err as Error).message}`, { cause: err });
      this.#metrics.refused(refusal.reason);
      this.#record(caller, peer, impersonatedValue, grant, { reason: refusal.reason, message: refusal.message });
      this.#options.logger.warn({ reason: refusal.reason, caller: caller?.identity, requested: impersonatedValue || caller?.identity, peer, err: refusal.message }, 'CA refused a certificate request');
      throw refusal;
    }
  }

  #record(caller: Caller | undefined, peer: string, impersonated: string | undefined, grant: IdentityGrant | undefined, outcome: Partial<IssuanceRecord>): void {
    this.#log.add({
      time: new Date(this.#now()).toISOString(),
      outcome: outcome.reason === undefined ? 'issued' : 'refused',
      caller: caller?.identity,
      callerSource: caller?.source,
      peer,
      requested: impersonated || caller?.identity,
      impersonated: impersonated !== undefined && impersonated !== '',
      node: grant?.node,
      ...outcome,
    });
  }
}
