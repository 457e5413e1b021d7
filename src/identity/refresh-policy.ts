// When to renew a workload certificate: at half-life, and after a failure with exponential
// backoff (ztunnel SecretManager: ~1 s × 2 per attempt, ±20 % jitter, capped at 150 s).

/** First retry delay after a failed issuance (ms). */
export const BACKOFF_INITIAL_MS = 1_000;
/** Upper bound of any retry delay (ms). */
export const BACKOFF_MAX_MS = 150_000;
/** ± fraction applied to each delay so many identities do not retry in lock-step. */
export const BACKOFF_JITTER = 0.2;

/** The instant (ms since epoch) a certificate should be renewed: notBefore + lifetime / 2. */
export function refreshAtMs(cert: { readonly notBefore: Date; readonly notAfter: Date }): number {
  const nb = cert.notBefore.getTime();
  return nb + (cert.notAfter.getTime() - nb) / 2;
}

/**
 * Delay (ms) before retry number `attempt` (1 = first retry after the first failure).
 * `random` ∈ [0, 1): 0.5 gives the un-jittered value.
 */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.max(0, attempt - 1));
  const jitter = 1 + BACKOFF_JITTER * (2 * random() - 1);
  return Math.min(BACKOFF_MAX_MS, Math.round(exp * jitter));
}
