// The client-identity seam of the ADS server: a pluggable authenticator sees each new stream (its
// listener, peer, metadata and verified client certificate) and names a principal or refuses it.

import type { PeerCertificate } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';

/** Which listener a stream arrived on: 15010 (plaintext, local use) or 15012 (TLS). */
export type AdsListenerKind = 'plaintext' | 'tls';

/** What is known about a stream's caller before its first request is read. */
export interface AdsCallInfo {
  readonly listener: AdsListenerKind;
  /** `ip:port` as grpc-js reports it. */
  readonly peer: string;
  /** Request metadata (e.g. `authorization: Bearer <jwt>`, `clusterid`). */
  readonly metadata: grpc.Metadata;
  /**
   * The client certificate, only when one was presented and it verified against the listener's
   * client CA (grpc-js hides unverified ones).
   */
  readonly peerCertificate: PeerCertificate | undefined;
  /** The verified certificate's SPIFFE identity (exactly one SPIFFE URI SAN), e.g. `spiffe://td/ns/x/sa/y`. */
  readonly spiffeId: string | undefined;
  /** Why a verified certificate yields no SPIFFE identity (none, several, malformed); undefined otherwise. */
  readonly certificateProblem: string | undefined;
}

/** The authenticated caller, as the authenticator names it (shown in logs and the debug view). */
export type AdsPrincipal = string;

/**
 * Returns the principal, or throws (or rejects) to refuse the stream: it then ends with
 * UNAUTHENTICATED and the error's message, as istiod answers a failed `authenticate`.
 */
export type AdsAuthenticator = (call: AdsCallInfo) => AdsPrincipal | Promise<AdsPrincipal>;

/** Accepts everyone: the principal is the verified SPIFFE identity, or `anonymous`. Local/test use. */
export const allowAnyClient: AdsAuthenticator = (call) => call.spiffeId ?? 'anonymous';

/** Accepts only callers with a verified SPIFFE client certificate; the principal is that identity. */
export const requireSpiffeClient: AdsAuthenticator = (call) => {
  if (call.spiffeId !== undefined) return call.spiffeId;
  throw new Error(call.certificateProblem ?? 'no verified client certificate');
};
