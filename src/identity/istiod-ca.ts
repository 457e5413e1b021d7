// The istiod CA provider: workload certificates from Istio's CA over gRPC (IstioCertificateService/
// CreateCertificate) on a server-authenticated TLS channel, as ztunnel's shared-mode caclient does.

import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from '../common/lazy-packages.js';
import { caAddressProblem } from '../config/index.js';
import type { AuthTokenSource } from '../config/types.js';
import type { Logger } from '../common/log.js';
import { MeshError } from '../common/errors.js';
import type { CaClient } from './ca-client.js';
import {
  CREATE_CERTIFICATE_PATH,
  IMPERSONATED_IDENTITY_KEY,
  decodeCertificateResponse,
  encodeCertificateRequest,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from './istio-ca-proto.js';
import {
  ISTIOD_CHANNEL_OPTIONS,
  describeRoots,
  istiodChannelCredentials,
  loadTrustRoots,
  parseTrustRoots,
  readBearerToken,
  type RootsNaming,
  type TrustRootSource,
} from './istiod-channel.js';
import { splitPemBundle, spiffeUriSans } from './x509.js';

/** Deadline of one CreateCertificate call, ms (covers connecting too: grpc-js has no connect timeout). */
export const ISTIOD_CALL_TIMEOUT_MS = 10_000;
/** Quiet time after the last change to the CA_ROOT_CA file before the channel is rebuilt, ms (ztunnel: 2 s). */
export const ROOT_RELOAD_DEBOUNCE_MS = 2_000;

/** CA_ROOT_CA problems are CA_CONFIG errors naming the setting. */
const ROOTS_NAMING: RootsNaming = { setting: 'CA_ROOT_CA', code: 'CA_CONFIG' };

export interface IstiodCaOptions {
  /** `https://host[:port]` (port default 443). */
  readonly address: string;
  /** CA_ROOT_CA: an existing file path (watched), `SYSTEM`, or inline PEM. */
  readonly rootCa: string;
  /** ALT_CA_HOSTNAME: a server certificate valid for this name is accepted too. */
  readonly altHostname?: string | undefined;
  readonly authToken?: AuthTokenSource | undefined;
  /** Sent as `clusterid`. */
  readonly clusterId: string;
  /** Extra metadata (CA_HEADER_*), names already lower-case. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly logger: Logger;
  /** Per-call deadline, ms; default ISTIOD_CALL_TIMEOUT_MS. */
  readonly callTimeoutMs?: number;
  /** Root file debounce, ms; default ROOT_RELOAD_DEBOUNCE_MS (tests shorten it). */
  readonly rootReloadDebounceMs?: number;
  /**
   * Send ImpersonatedIdentity (default true: the node agent asks for its pods' identities, as
   * ztunnel). False for a proxy that asks only for its own identity (a waypoint, as Istio's
   * pilot-agent): istiod refuses impersonation from any caller but a trusted node account.
   */
  readonly impersonate?: boolean;
}

export class IstiodCaClient implements CaClient {
  readonly name = 'istiod';
  readonly #options: IstiodCaOptions;
  readonly #target: string;
  readonly #rootSource: TrustRootSource;
  /** PEM roots in use; undefined = the system store. */
  #rootsPem: string | undefined;
  #client: grpc.Client;
  #watcher: FSWatcher | undefined;
  #reloadTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: IstiodCaOptions, target: string, rootSource: TrustRootSource, rootsPem: string | undefined) {
    this.#options = options;
    this.#target = target;
    this.#rootSource = rootSource;
    this.#rootsPem = rootsPem;
    this.#client = this.#newClient(rootsPem);
  }

  /** Validates address and roots (MeshError CA_CONFIG) and builds the channel; connects lazily. */
  static async open(options: IstiodCaOptions): Promise<IstiodCaClient> {
    const target = grpcTarget(options.address);
    const { source, pem } = loadTrustRoots(options.rootCa, ROOTS_NAMING);
    const client = new IstiodCaClient(options, target, source, pem);
    if (source.kind === 'file') client.#watchRootFile(source.path);
    options.logger.info(
      { address: options.address, roots: describeRoots(source), altHostname: options.altHostname, auth: options.authToken?.kind ?? 'none' },
      'using the istiod CA',
    );
    return client;
  }

  async sign(csrPem: string, spiffeId: string, ttlSeconds: number): Promise<string[]> {
    if (this.#closed) throw new MeshError('CA_ERROR', 'istiod CA client is closed');
    // A shared node agent: istiod issues for the impersonated identity only if it trusts this
    // agent's service account (CA_TRUSTED_NODE_ACCOUNTS) and the pod is on our node. Without
    // impersonation the CA issues the caller's own identity, which must be `spiffeId` (checked below).
    const request: IstioCertificateRequest = {
      csr: csrPem,
      validityDurationSeconds: Math.floor(ttlSeconds),
      metadata: this.#options.impersonate === false ? {} : { [IMPERSONATED_IDENTITY_KEY]: spiffeId },
    };
    const metadata = await this.#callMetadata();
    const response = await this.#call(request, metadata, spiffeId);
    return checkResponse(response.certChain, spiffeId, this.#options.address);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reloadTimer);
    this.#watcher?.close();
    this.#client.close();
  }

  #newClient(rootsPem: string | undefined): grpc.Client {
    // Server-authenticated TLS 1.3, no client certificate; there is no insecure path at all.
    return new (grpcJs().Client)(this.#target, istiodChannelCredentials(rootsPem, this.#options.altHostname), ISTIOD_CHANNEL_OPTIONS);
  }

  async #callMetadata(): Promise<grpc.Metadata> {
    const md = new (grpcJs().Metadata)();
    const token = await readBearerToken(this.#options.authToken, { component: 'istiod CA', code: 'CA_ERROR' });
    if (token !== undefined) md.set('authorization', `Bearer ${token}`);
    md.set('clusterid', this.#options.clusterId);
    for (const [name, value] of Object.entries(this.#options.headers ?? {})) md.set(name, value);
    return md;
  }

  #call(request: IstioCertificateRequest, metadata: grpc.Metadata, spiffeId: string): Promise<IstioCertificateResponse> {
    const deadline = Date.now() + (this.#options.callTimeoutMs ?? ISTIOD_CALL_TIMEOUT_MS);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest<IstioCertificateRequest, IstioCertificateResponse>(
        CREATE_CERTIFICATE_PATH,
        encodeCertificateRequest,
        (bytes: Buffer) => decodeCertificateResponse(bytes),
        request,
        metadata,
        { deadline },
        (err, value) => {
          if (err) reject(statusError(err, this.#options.address, spiffeId));
          else if (value === undefined) reject(new MeshError('CA_ERROR', `istiod CA at ${this.#options.address} sent no response for ${spiffeId}`));
          else resolve(value);
        },
      );
    });
  }

  /** Watches the directory, not the file: Kubernetes swaps a `..data` symlink instead of writing the file. */
  #watchRootFile(path: string): void {
    const name = basename(path);
    try {
      this.#watcher = watch(dirname(path), (_event, file) => {
        if (file !== null && file !== name && !String(file).startsWith('..')) return;
        clearTimeout(this.#reloadTimer);
        this.#reloadTimer = setTimeout(() => void this.#reloadRoots(path), this.#options.rootReloadDebounceMs ?? ROOT_RELOAD_DEBOUNCE_MS);
        this.#reloadTimer.unref();
      });
      this.#watcher.unref();
      this.#watcher.on('error', (err) => this.#options.logger.warn({ path, err: err.message }, 'istiod CA: watching CA_ROOT_CA stopped'));
    } catch (err) {
      this.#options.logger.warn({ path, err: (err as Error).message }, 'istiod CA: cannot watch CA_ROOT_CA; root changes need a restart');
    }
  }

  async #reloadRoots(path: string): Promise<void> {
    if (this.#closed) return;
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
      parseTrustRoots(pem, path, ROOTS_NAMING);
    } catch (err) {
      // Keep the channel built from the last good roots: a half-written or deleted file must not
      // leave the agent without a CA, nor with weaker verification.
      this.#options.logger.warn({ path, err: (err as Error).message }, 'istiod CA: CA_ROOT_CA changed but is unusable; keeping the previous roots');
      return;
    }
    if (this.#closed || pem === this.#rootsPem) return;
    const old = this.#client;
    this.#rootsPem = pem;
    this.#client = this.#newClient(pem);
    old.close(); // calls already in flight on the old channel run to completion
    this.#options.logger.info({ path }, 'istiod CA: CA_ROOT_CA changed; rebuilt the channel');
  }

  /** For tests and config_dump: where the roots come from. */
  get rootSource(): string {
    return describeRoots(this.#rootSource);
  }
}

/** `https://host:port` → grpc-js target `host:port`, by config's CA_ADDRESS rule (else CA_CONFIG). */
function grpcTarget(address: string): string {
  const problem = caAddressProblem(address);
  if (problem !== undefined) throw new MeshError('CA_CONFIG', `istiod CA address "${address}": ${problem}`);
  const url = new URL(address);
  return `${url.hostname}:${url.port || '443'}`;
}

function statusError(err: grpc.ServiceError, address: string, spiffeId: string): MeshError {
  const status = grpcJs().status[err.code] ?? String(err.code);
  return new MeshError('CA_ERROR', `istiod CA at ${address} failed to issue a certificate for ${spiffeId}: ${status}: ${err.details}`, { cause: err });
}

/** ztunnel's checks on IstioCertificateResponse.cert_chain; returns the chain unchanged. */
function checkResponse(chain: readonly string[], spiffeId: string, address: string): string[] {
  const where = `istiod CA at ${address}, certificate for ${spiffeId}`;
  if (chain.length < 2) throw new MeshError('CA_ERROR', `${where}: no root certificate present (${chain.length} chain element(s))`);
  let leaf: X509Certificate | undefined;
  chain.forEach((element, i) => {
    const pems = splitPemBundle(element);
    if (pems.length === 0) throw new MeshError('CA_ERROR', `${where}: chain element ${i} holds no PEM certificate`);
    for (const pem of pems) {
      try {
        const cert = new X509Certificate(pem);
        leaf ??= cert;
      } catch (err) {
        throw new MeshError('CA_ERROR', `${where}: chain element ${i} holds an unparsable certificate`, { cause: err });
      }
    }
  });
  // The CA must have issued exactly the identity we asked for (impersonated, or our own).
  // Exactly that identity and no other SPIFFE one: peers refuse a leaf with several (san-identity.ts).
  const claimed = leaf === undefined ? [] : spiffeUriSans(leaf.subjectAltName);
  if (claimed.length !== 1 || claimed[0] !== spiffeId) {
    throw new MeshError('CA_ERROR', `${where}: the leaf's SPIFFE URI SANs are [${claimed.join(', ') || 'none'}], not the requested identity alone`);
  }
  return [...chain];
}
