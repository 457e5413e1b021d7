// HTTPRoute rule timeouts (GEP-2257 durations) and retry (GEP-1731) → the model's Timeouts and
// RetryPolicy, with Istio's mapping: retryOn connect-failure,refused-stream,unavailable,cancelled
// plus the codes; with a retry, backendRequest is the per-try timeout.

import { DEFAULT_RETRY, type RetryPolicy, type Timeouts } from '../../waypoint/model/route-model.js';
import { parseGatewayDuration } from './gateway-duration.js';
import type { RouteContext } from './route-context.js';

export interface TimeoutsView {
  readonly request?: string;
  readonly backendRequest?: string;
}

export interface RetryView {
  readonly codes?: readonly number[];
  readonly attempts?: number;
  readonly backoff?: string;
}

export const RETRY_ON: readonly string[] = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];

/** Timeouts and retry of the rule at `at`; undefined when invalid (the rule is dropped, reported). */
export function compileTimeouts(
  timeouts: TimeoutsView | undefined,
  retry: RetryView | undefined,
  at: string,
  ctx: RouteContext,
): { timeouts?: Timeouts; retry?: RetryPolicy } | undefined {
  const duration = (text: string | undefined, field: string): number | null | undefined => {
    if (text === undefined) return undefined;
    const ms = parseGatewayDuration(text);
    if (ms === undefined) {
      ctx.problems.error(ctx.object, field, `UnsupportedValue: "${text}" is not a duration (GEP-2257: e.g. 500ms, 1h30m); rule dropped`);
      return null;
    }
    return ms;
  };
  // 0s disables a timeout: the model's absent.
  const requestMs = duration(timeouts?.request, `${at}.timeouts.request`);
  const backendRequestMs = duration(timeouts?.backendRequest, `${at}.timeouts.backendRequest`);
  const backoffMs = duration(retry?.backoff, `${at}.retry.backoff`);
  if (requestMs === null || backendRequestMs === null || backoffMs === null) return undefined;
  for (const [i, code] of (retry?.codes ?? []).entries()) {
    if (!Number.isInteger(code) || code < 400 || code > 599) {
      ctx.problems.error(ctx.object, `${at}.retry.codes[${i}]`, `UnsupportedValue: ${code} is not an HTTP status 400..599; rule dropped`);
      return undefined;
    }
  }
  const t: { requestMs?: number; backendRequestMs?: number } = {};
  if (requestMs) t.requestMs = requestMs;
  if (backendRequestMs) t.backendRequestMs = backendRequestMs;
  const out: { timeouts?: Timeouts; retry?: RetryPolicy } = {};
  if (t.requestMs !== undefined || t.backendRequestMs !== undefined) out.timeouts = t;
  if (retry !== undefined) {
    out.retry = {
      attempts: retry.attempts ?? DEFAULT_RETRY.attempts,
      codes: [...(retry.codes ?? [])],
      retryOn: RETRY_ON,
      backoffMs: backoffMs ?? DEFAULT_RETRY.backoffMs,
      ...(t.backendRequestMs !== undefined ? { perTryTimeoutMs: t.backendRequestMs } : {}),
    };
  }
  return out;
}
