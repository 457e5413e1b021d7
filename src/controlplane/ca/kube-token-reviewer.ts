// Bearer tokens checked by the Kubernetes API server (TokenReview, audience `istio-ca`), as istiod
// does for every CSR (security/pkg/server/ca/authenticate/kubeauth/kube_jwt.go, tokenreview/).

// Types only: the client (~90 MB RSS) is loaded on the first review, so manifests mode never loads it.
import type { AuthenticationV1Api, KubeConfig, V1TokenReview } from '@kubernetes/client-node';
import type { TokenAuthenticator, TokenSubject } from './caller.js';

/** istiod's security.TokenAudiences: projected istio-token volumes carry this audience. */
export const ISTIO_CA_AUDIENCES: readonly string[] = ['istio-ca'];
/** Bound on one TokenReview round trip, ms: a hung API server must not hang CSRs. */
export const TOKEN_REVIEW_TIMEOUT_MS = 5_000;

const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';
const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';

export interface KubeTokenReviewerOptions {
  /** Credentials and address of the API server (in-cluster: KubeConfig.loadFromCluster()). */
  readonly kubeConfig: KubeConfig;
  /** spec.audiences; default ISTIO_CA_AUDIENCES. */
  readonly audiences?: readonly string[];
  readonly timeoutMs?: number;
}

/**
 * A TokenReview answer → the caller, or undefined when the token is refused. Pure, exported for tests.
 * Accepted only when: no status.error; authenticated; in group system:serviceaccounts; username
 * `system:serviceaccount:<ns>:<sa>`; and status.audiences intersects the requested audiences
 * (Kubernetes: a client that sets spec.audiences should check status.audiences, so an API server
 * that ignores audiences cannot make a token for another audience pass).
 */
export function subjectOfTokenReview(review: V1TokenReview, audiences: readonly string[]): TokenSubject | undefined {
  const status = review.status;
  if (status === undefined || (status.error ?? '') !== '' || status.authenticated !== true) return undefined;
  const user = status.user;
  if (!(user?.groups ?? []).includes(SERVICE_ACCOUNTS_GROUP)) return undefined;
  const parts = (user?.username ?? '').split(':');
  if (parts.length !== 4 || parts[0] !== 'system' || parts[1] !== 'serviceaccount' || parts[2] === '' || parts[3] === '') return undefined;
  if (audiences.length > 0 && !(status.audiences ?? []).some((a) => audiences.includes(a))) return undefined;
  const podName = single(user?.extra?.[POD_NAME_EXTRA]);
  const podUid = single(user?.extra?.[POD_UID_EXTRA]);
  return {
    namespace: parts[2] as string,
    serviceAccount: parts[3] as string,
    ...(podName !== undefined ? { pod: { name: podName, ...(podUid !== undefined ? { uid: podUid } : {}) } } : {}),
  };
}

function single(values: readonly string[] | undefined): string | undefined {
  return values?.length === 1 && values[0] !== '' ? values[0] : undefined;
}

export class KubeTokenReviewer implements TokenAuthenticator {
  readonly name = 'Kubernetes TokenReview';
  readonly #kubeConfig: KubeConfig;
  #api: Promise<AuthenticationV1Api> | undefined;
  readonly #audiences: readonly string[];
  readonly #timeoutMs: number;

  constructor(options: KubeTokenReviewerOptions) {
    this.#kubeConfig = options.kubeConfig;
    this.#audiences = options.audiences ?? ISTIO_CA_AUDIENCES;
    this.#timeoutMs = options.timeoutMs ?? TOKEN_REVIEW_TIMEOUT_MS;
  }

  /** Rejects (→ UNAVAILABLE) when the review cannot be made; a refused token resolves undefined. */
  async authenticate(token: string): Promise<TokenSubject | undefined> {
    const body: V1TokenReview = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: [...this.#audiences] },
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`TokenReview timed out after ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      this.#api ??= import('@kubernetes/client-node').then((k) => this.#kubeConfig.makeApiClient(k.AuthenticationV1Api));
      const api = await this.#api;
      const review = await Promise.race([api.createTokenReview({ body }), timeout]);
      return subjectOfTokenReview(review, this.#audiences);
    } catch (err) {
      // The client's errors can echo the request; never let the token reach a log line.
      throw new Error(redact(errorText(err), token));
    } finally {
      clearTimeout(timer);
    }
  }
}

function errorText(err: unknown): string {
  const e = err as { code?: number; message?: string };
  return typeof e.code === 'number' ? `HTTP ${e.code}` : (e.message ?? String(err)).slice(0, 300);
}

function redact(text: string, token: string): string {
  return token === '' ? text : text.split(token).join('<token>');
}
