// grpc-js server credentials for the control plane's TLS port (15012): a serving certificate, and
// a client certificate asked for but optional, like istiod's tls.VerifyClientCertIfGiven.
//
// grpc-js's createSsl can only require a client certificate or not ask for one; node agents
// authenticate with a bearer token and no certificate, other callers with a mesh certificate, so
// the TLS layer must ask and let the call decide. A certificate that does not verify against
// `clientRootsPem` is not an error here: grpc-js then reports no peer certificate at all, and the
// call is authenticated by its token or refused.

import * as grpc from '@grpc/grpc-js';
import type { ServingCertificate } from '../ads/tls-credentials.js';

export type { ServingCertificate };

class OptionalClientCertCredentials extends grpc.ServerCredentials {
  constructor(serving: ServingCertificate, clientRootsPem: string) {
    super({ requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, contextOf(serving, clientRootsPem));
  }

  /** Swaps certificate and roots on the listening server (certificate rotation); new handshakes use them. */
  rotate(serving: ServingCertificate, clientRootsPem: string): void {
    this.updateSecureContextOptions(contextOf(serving, clientRootsPem));
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

function contextOf(serving: ServingCertificate, clientRootsPem: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: Buffer.from(clientRootsPem), cert: Buffer.from(serving.certChainPem), key: Buffer.from(serving.keyPem) };
}

export type CaServerCredentials = grpc.ServerCredentials & { rotate(serving: ServingCertificate, clientRootsPem: string): void };

/** Credentials for a grpc-js server that serves the CA (and xDS) to node agents. */
export function caServerCredentials(serving: ServingCertificate, clientRootsPem: string): CaServerCredentials {
  return new OptionalClientCertCredentials(serving, clientRootsPem);
}
