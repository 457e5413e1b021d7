// Who is calling the CA: the authenticated caller (from an mTLS client certificate or a bearer
// token) and the seam token authenticators plug into (static token file, Kubernetes TokenReview).

/** A pod named by an authenticated credential (TokenReview `authentication.kubernetes.io/pod-*`). */
export interface CallerPod {
  /** In the caller's namespace: a service-account token is bound to a pod of its own namespace. */
  readonly name: string;
  /** When known, must equal the stored pod's UID (a re-created pod with the same name is another pod). */
  readonly uid?: string | undefined;
}

/** What a token authenticator vouches for. Every field is an authenticated fact, never request input. */
export interface TokenSubject {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The pod the token was issued to, if the authenticator knows it (istiod ties a node agent to its node through it). */
  readonly pod?: CallerPod | undefined;
  /** A node the credential is bound to directly (static token file, for nodes that are not pods). */
  readonly node?: string | undefined;
}

/**
 * Checks a bearer token. Resolves the subject, or undefined when the token is not valid (the call
 * is refused UNAUTHENTICATED). Rejects only when the check itself could not run (e.g. the API
 * server is unreachable): the call is refused UNAVAILABLE so the client retries; never accepted.
 */
export interface TokenAuthenticator {
  readonly name: string;
  authenticate(token: string): Promise<TokenSubject | undefined>;
}

export type CallerSource = 'mtls' | 'token';

export interface Caller {
  readonly source: CallerSource;
  /** `spiffe://<mesh trust domain>/ns/<ns>/sa/<sa>`. */
  readonly identity: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly pod?: CallerPod | undefined;
  readonly node?: string | undefined;
  /** Transport peer `ip:port`, for logs and the issuance list only (never an authorization input). */
  readonly peer: string;
}

/** `namespace/serviceAccount`, the form CA_TRUSTED_NODE_ACCOUNTS lists. */
export function accountOf(c: { readonly namespace: string; readonly serviceAccount: string }): string {
  return `${c.namespace}/${c.serviceAccount}`;
}
