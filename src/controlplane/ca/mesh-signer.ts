// The mesh root the control plane signs with: the built-in self-signed root (the same state-dir
// files as the node agent's builtin provider, so both trust one root) or Istio plug-in `cacerts` files.

import { X509Certificate } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import { BuiltinCaClient, FileCaClient, certValidity, splitPemBundle, type LocalCa } from '../../identity/index.js';

export type MeshRootSource =
  /** Self-signed root in `stateDir` (root-cert.pem, root-key.pem), created on first start. */
  | { readonly kind: 'builtin'; readonly stateDir: string }
  /** Istio plug-in CA directory: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem. */
  | { readonly kind: 'plugin'; readonly dir: string };

export interface MeshSignerOptions {
  readonly source: MeshRootSource;
  /** Builtin root subject `O=<trustDomain>` when the root is created. */
  readonly trustDomain: string;
  readonly logger: Logger;
  /** ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

/** Longest issuer path walked when verifying a leaf (leaf → intermediates → root). */
const MAX_PATH = 8;

export class MeshSigner {
  readonly source: MeshRootSource;
  readonly #ca: LocalCa;
  /** Issuing CA, intermediates and roots: every certificate a mesh leaf may chain through. */
  readonly #authorities: readonly X509Certificate[];
  readonly #roots: ReadonlySet<string>;

  private constructor(source: MeshRootSource, ca: LocalCa) {
    this.source = source;
    this.#ca = ca;
    const roots = splitPemBundle(ca.rootCertPem).map((p) => new X509Certificate(p));
    this.#roots = new Set(roots.map((r) => r.fingerprint256));
    this.#authorities = [...ca.intermediatesPem.map((p) => new X509Certificate(p)), ...roots];
  }

  /** Loads (builtin: creates on first start) the root. Errors are MeshError CA_CONFIG. */
  static async open(options: MeshSignerOptions): Promise<MeshSigner> {
    const { source, logger } = options;
    const now = options.now ? { now: options.now } : {};
    const ca =
      source.kind === 'builtin'
        ? await BuiltinCaClient.open({ stateDir: source.stateDir, trustDomain: options.trustDomain, logger, ...now })
        : await FileCaClient.open({ dir: source.dir, logger, ...now });
    return new MeshSigner(source, ca);
  }

  /** The trust bundle (concatenated root PEMs): what node agents put in CA_ROOT_CA. */
  get rootCertPem(): string {
    return this.#ca.rootCertPem;
  }

  /**
   * Signs a CSR for `spiffeId` (the CSR must carry exactly that URI SAN). Returns cert_chain as
   * istiod sends it: leaf, intermediates, roots, one certificate per element, each ending in "\n"
   * (server.go expands every PEM; ztunnel takes the last element as the trust bundle).
   */
  async sign(csrPem: string, spiffeId: string, ttlSeconds: number): Promise<string[]> {
    const chain = await this.#ca.sign(csrPem, spiffeId, ttlSeconds);
    return chain.flatMap((element) => splitPemBundle(element));
  }

  /** A TLS server certificate for the CA endpoint (DNS names / IPs), under the mesh root. */
  issueServerCertificate(names: readonly string[], ttlSeconds: number): Promise<{ certChainPem: string; keyPem: string }> {
    return this.#ca.issueServerCertificate(names, ttlSeconds);
  }

  /**
   * Why `leaf` is not a currently valid certificate issued under the mesh root, or undefined if it
   * is: each link must be named (checkIssued) and signed (verify) by a known authority, every
   * certificate on the path valid at `nowMs`, ending at a root. Only known authorities count, so a
   * chain through an intermediate this CA does not hold is refused.
   */
  verifyLeaf(leaf: X509Certificate, nowMs: number): string | undefined {
    if (leaf.ca) return 'it is a CA certificate, not a leaf';
    let cert = leaf;
    for (let depth = 0; depth < MAX_PATH; depth++) {
      const { notBefore, notAfter } = certValidity(cert);
      if (nowMs < notBefore.getTime() || nowMs > notAfter.getTime()) {
        return `certificate "${subjectOf(cert)}" is not valid now (${notBefore.toISOString()} .. ${notAfter.toISOString()})`;
      }
      if (this.#roots.has(cert.fingerprint256)) return undefined;
      const issuer = this.#authorities.find((a) => a.fingerprint256 !== cert.fingerprint256 && cert.checkIssued(a) && cert.verify(a.publicKey));
      if (issuer === undefined) return `certificate "${subjectOf(cert)}" is not issued by the mesh CA`;
      cert = issuer;
    }
    return 'the issuer path is too long';
  }

  close(): void {
    this.#ca.close();
  }
}

function subjectOf(cert: X509Certificate): string {
  const s = (cert.subject ?? '').replace(/\n/g, ', ');
  return s === '' ? `serial ${cert.serialNumber}` : s;
}

export function meshRootDescription(source: MeshRootSource): string {
  return source.kind === 'builtin' ? `builtin root in ${source.stateDir}` : `plug-in CA files in ${source.dir}`;
}
