// Server credentials of the TLS listener (istiod's 15012): a serving certificate the caller supplies
// and can rotate in place, and an optional client-certificate check whose SPIFFE identity reaches the authenticator.

import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { spiffeIdentityOfSans } from '../../tls/index.js';

/** The TLS listener's certificate material, PEM. */
export interface ServingCertificate {
  /** Leaf first, then intermediates (the mesh CA's chain). */
  readonly certChainPem: string;
  readonly keyPem: string;
}

/** Client certificate policy of the TLS listener. */
export interface ClientCertificatePolicy {
  /** Roots client certificates must chain to; absent = no client certificate is asked for. */
  readonly caPem?: string | undefined;
  /**
   * Refuse the TLS handshake without a valid client certificate (mTLS only). Default false:
   * like istiod's 15012 a client may come with a bearer token only; an invalid certificate is
   * then ignored rather than refused, and the authenticator decides.
   */
  readonly require?: boolean | undefined;
}

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/**
 * grpc-js's certificate-provider seam: the only public way to ask for a client certificate
 * without requiring one, and it swaps the live server's secure context on update.
 * Updates are delivered on a microtask: grpc-js registers its watcher after subscribing to the
 * provider, and a synchronous first update would reach no watcher (the listener would stay without
 * a certificate).
 */
class StaticProvider implements grpc.experimental.CertificateProvider {
  readonly #ca = new Set<CaListener>();
  readonly #identity = new Set<IdentityListener>();
  #caPem: Buffer | undefined;
  #serving: { certificate: Buffer; privateKey: Buffer } | undefined;

  setCa(pem: string): void {
    this.#caPem = Buffer.from(pem);
    for (const l of this.#ca) queueMicrotask(() => l({ caCertificate: this.#caPem! }));
  }

  setServing(cert: ServingCertificate): void {
    this.#serving = { certificate: Buffer.from(cert.certChainPem), privateKey: Buffer.from(cert.keyPem) };
    const update = this.#serving;
    for (const l of this.#identity) queueMicrotask(() => l(update));
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#ca.add(listener);
    const pem = this.#caPem;
    if (pem !== undefined) queueMicrotask(() => listener({ caCertificate: pem }));
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.add(listener);
    const update = this.#serving;
    if (update !== undefined) queueMicrotask(() => listener(update));
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.delete(listener);
  }
}

/** The TLS listener's credentials and the handle that rotates its certificate. */
export class TlsListenerCredentials {
  readonly credentials: grpc.ServerCredentials;
  readonly #identity = new StaticProvider();

  constructor(serving: ServingCertificate, client: ClientCertificatePolicy = {}) {
    checkPem(serving);
    this.#identity.setServing(serving);
    let caProvider: StaticProvider | null = null;
    if (client.caPem !== undefined) {
      caProvider = new StaticProvider();
      caProvider.setCa(client.caPem);
    } else if (client.require === true) {
      throw new TypeError('ADS TLS listener: requiring client certificates needs a client CA');
    }
    this.credentials = grpc.experimental.createCertificateProviderServerCredentials(this.#identity, caProvider, client.require === true);
  }

  /** New connections get this certificate; established ones keep theirs. */
  rotate(serving: ServingCertificate): void {
    checkPem(serving);
    this.#identity.setServing(serving);
  }
}

function checkPem(serving: ServingCertificate): void {
  if (!serving.certChainPem.includes('-----BEGIN CERTIFICATE-----')) throw new TypeError('ADS TLS listener: certChainPem holds no PEM certificate');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(serving.keyPem)) throw new TypeError('ADS TLS listener: keyPem holds no PEM private key');
}

/** The SPIFFE identity of a verified client certificate, or why there is none. */
export function clientIdentity(cert: PeerCertificate | undefined): { spiffeId: string | undefined; problem: string | undefined } {
  if (cert === undefined) return { spiffeId: undefined, problem: undefined };
  const r = spiffeIdentityOfSans(cert.subjectaltname);
  return r.ok ? { spiffeId: r.identity.uri, problem: undefined } : { spiffeId: undefined, problem: `client certificate: ${r.problem}` };
}
