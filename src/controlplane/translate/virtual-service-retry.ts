// VirtualService `timeout` and `retries` (HTTPRetry) → the model's Timeouts and RetryPolicy, as
// istiod converts them (networking/core/route/retry ConvertPolicy): attempts 0 disables retries;
// `retryOn` replaces the default conditions, numeric entries become retriable status codes (and
// add `retriable-status-codes`); no `retries` ⇒ the mesh default policy (the model's absent retry).

import { DEFAULT_RETRY, type RetryPolicy, type Timeouts } from '../../waypoint/model/route-model.js';
import { parseIstioDuration } from './istio-duration.js';
import type { RuleProblem } from './virtual-service-filters.js';

export interface RetriesView {
  readonly attempts?: number;
  readonly perTryTimeout?: string;
  readonly retryOn?: string;
  readonly retryRemoteLocalities?: boolean;
  readonly retryIgnorePreviousHosts?: boolean;
  readonly backoff?: string;
}

/** Istio's default retry_on when `retries` is set without `retryOn` (mesh defaultHttpRetryPolicy). */
const DEFAULT_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];

/** Envoy conditions istiod accepts (validation supportedRetryOnPolicies). */
const ENVOY_RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

/** The conditions Ambit's waypoint acts on (src/waypoint request-forwarder). */
const HONOURED = new Set(['5xx', 'gateway-error', 'reset', 'connect-failure', 'refused-stream', 'retriable-status-codes', 'cancelled', 'unavailable']);

export interface CompiledRetry {
  readonly timeouts?: Timeouts;
  readonly retry?: RetryPolicy;
  /** Non-fatal findings (field below the rule, reason). */
  readonly warnings: readonly RuleProblem[];
}

/** `timeout` and `retries` of one http rule; a RuleProblem drops the rule. */
export function compileRetry(timeout: string | undefined, retries: RetriesView | undefined): CompiledRetry | RuleProblem {
  const warnings: RuleProblem[] = [];
  let timeouts: Timeouts | undefined;
  if (timeout !== undefined) {
    const ms = parseIstioDuration(timeout);
    if (ms === undefined) return { field: 'timeout', reason: `"${timeout}" is not a duration (e.g. 10s, 1.5s, 250ms)` };
    // 0s disables the timeout (istiod: no timeout), the model's absent.
    if (ms > 0) timeouts = { requestMs: ms };
  }
  if (retries === undefined) return { ...(timeouts ? { timeouts } : {}), warnings };
  const attempts = retries.attempts ?? 0;
  if (!Number.isInteger(attempts) || attempts < 0) return { field: 'retries.attempts', reason: 'attempts cannot be negative' };
  if (attempts === 0) return { ...(timeouts ? { timeouts } : {}), retry: { attempts: 0, codes: [], retryOn: [], backoffMs: DEFAULT_RETRY.backoffMs }, warnings };
  let perTryTimeoutMs: number | undefined;
  if (retries.perTryTimeout !== undefined) {
    const ms = parseIstioDuration(retries.perTryTimeout);
    if (ms === undefined) return { field: 'retries.perTryTimeout', reason: `"${retries.perTryTimeout}" is not a duration` };
    if (ms > 0) perTryTimeoutMs = ms;
  }
  let backoffMs = DEFAULT_RETRY.backoffMs;
  if (retries.backoff !== undefined) {
    const ms = parseIstioDuration(retries.backoff);
    if (ms === undefined || ms === 0) return { field: 'retries.backoff', reason: `"${retries.backoff}" is not a positive duration` };
    backoffMs = ms;
  }
  let retryOn = DEFAULT_RETRY_ON;
  const codes: number[] = [];
  if (retries.retryOn) {
    retryOn = [];
    const notYet: string[] = [];
    for (const raw of retries.retryOn.split(',')) {
      const c = raw.trim();
      if (c === '') continue;
      if (/^\d+$/.test(c)) {
        const code = Number(c);
        if (code < 100 || code > 599) return { field: 'retries.retryOn', reason: `"${c}" is not an HTTP status code` };
        codes.push(code);
        continue;
      }
      if (!ENVOY_RETRY_ON.has(c)) return { field: 'retries.retryOn', reason: `"${c}" is not a valid retryOn policy` };
      retryOn.push(c);
      if (!HONOURED.has(c)) notYet.push(c);
    }
    if (codes.length > 0 && !retryOn.includes('retriable-status-codes')) retryOn.push('retriable-status-codes');
    if (notYet.length > 0) warnings.push({ field: 'retries.retryOn', reason: `${notYet.join(', ')}: not acted on by Ambit's waypoint yet; the other conditions apply` });
  }
  if (retries.retryRemoteLocalities !== undefined) warnings.push({ field: 'retries.retryRemoteLocalities', reason: 'not supported by Ambit\'s waypoint (retries may go to any locality); ignored' });
  if (retries.retryIgnorePreviousHosts === false) warnings.push({ field: 'retries.retryIgnorePreviousHosts', reason: 'Ambit\'s waypoint always prefers another endpoint for a retry; ignored' });
  return {
    ...(timeouts ? { timeouts } : {}),
    retry: { attempts, codes, retryOn, backoffMs, ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}) },
    warnings,
  };
}
