// When to reconnect after an xDS stream ends, and how that end is counted (upstream:
// ztunnel src/xds/client.rs `run_loop`). Pure: the client feeds it how the stream ended.

/** Label values of istio_xds_connection_terminations_total{reason}. */
export type TerminationReason = 'ConnectionError' | 'Error' | 'Reconnect' | 'Complete';

/** ztunnel's INITIAL_BACKOFF and MAX_BACKOFF, ms. */
export const XDS_INITIAL_BACKOFF_MS = 10;
export const XDS_MAX_BACKOFF_MS = 15_000;

/** How a stream (attempt) ended. */
export type StreamEnd =
  /** No stream: connect or TLS failed, timed out, the token could not be read, or the server answered the call with an error before any response header. */
  | { readonly kind: 'connect-failed'; readonly detail: string }
  /** The stream was up (response headers seen) and ended with a non-OK gRPC status. */
  | { readonly kind: 'status'; readonly code: number; readonly details: string }
  /** The stream ended with status OK (the server closed it cleanly). */
  | { readonly kind: 'complete' }
  /** Anything else on our side (a request could not be sent, a response could not be handled). */
  | { readonly kind: 'error'; readonly detail: string };

export interface ReconnectDecision {
  readonly reason: TerminationReason;
  /** Wait this long before the next attempt. */
  readonly delayMs: number;
  /** The backoff to carry into the next decision. */
  readonly nextBackoffMs: number;
}

export interface BackoffLimits {
  readonly initialMs: number;
  readonly maxMs: number;
}

const DEFAULT_LIMITS: BackoffLimits = { initialMs: XDS_INITIAL_BACKOFF_MS, maxMs: XDS_MAX_BACKOFF_MS };

/** gRPC codes of the "normal rotation" statuses (Unknown, Cancelled, DeadlineExceeded; Unavailable by message). */
const CANCELLED = 1;
const UNKNOWN = 2;
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/** A status ztunnel treats as server-side rotation (e.g. istiod's max connection age): back in 10 ms. */
export function isRotation(code: number, details: string): boolean {
  if (code === UNKNOWN || code === CANCELLED || code === DEADLINE_EXCEEDED) return true;
  return code === UNAVAILABLE && (details.includes('transport is closing') || details.includes('received prior goaway'));
}

/**
 * ztunnel's policy: connection errors and other gRPC errors double the backoff (10 ms ×2, at most
 * 15 s) and wait it; rotation statuses wait 10 ms and reset it; a clean end or a local error
 * reconnects at once with the backoff reset.
 */
export function nextReconnect(end: StreamEnd, backoffMs: number, limits: BackoffLimits = DEFAULT_LIMITS): ReconnectDecision {
  const doubled = Math.min(limits.maxMs, backoffMs * 2);
  switch (end.kind) {
    case 'connect-failed':
      return { reason: 'ConnectionError', delayMs: doubled, nextBackoffMs: doubled };
    case 'status':
      return isRotation(end.code, end.details)
        ? { reason: 'Reconnect', delayMs: limits.initialMs, nextBackoffMs: limits.initialMs }
        : { reason: 'Error', delayMs: doubled, nextBackoffMs: doubled };
    case 'error':
      return { reason: 'Error', delayMs: 0, nextBackoffMs: limits.initialMs };
    case 'complete':
      return { reason: 'Complete', delayMs: 0, nextBackoffMs: limits.initialMs };
    default: {
      const never: never = end;
      return never;
    }
  }
}
