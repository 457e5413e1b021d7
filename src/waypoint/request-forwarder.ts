// Sends a request to a cluster with Envoy's router semantics: endpoint choice per attempt (a
// different endpoint preferred on retry), per-try timeout, retry_on conditions, exponential
// jittered backoff, and the final outcome's status and response flags (UH, UF, URX, UT, UC).

import type { ProxyState } from '../state/index.js';
import type { Readable } from 'node:stream';
import { Cancellation, type CancelSignal } from './cancellation.js';
import type { UpstreamPolicies } from './cluster-manager.js';
import { cookieToGenerate, downstreamId } from './hash-policy.js';
import { clusterEndpoints, type HashInput, type LoadBalancer, type UpstreamEndpoint } from './load-balancer.js';
import type { Cluster, RetryPolicy } from './model/route-model.js';
import { headerValue, type HeaderMap } from './routing/index.js';
import type { UpstreamClients } from './upstream-clients.js';
import { AttemptFailure, exchange, type ExchangeContext, type UpstreamResponse } from './upstream-exchange.js';

/** A request body attempts can read (BodyTap, or a one-shot stream for mirrors). */
export interface BodySource {
  reader(primary: boolean): Readable | undefined;
  readonly replayable: boolean;
  release(r: Readable): void;
  /** The request's trailers once its body ended. */
  trailers?(): HeaderMap | undefined;
  /** The downstream body failed: nothing left to retry with. */
  readonly broken?: boolean;
}

export interface ForwarderInputs {
  readonly state: ProxyState;
  readonly network: string;
  readonly lb: LoadBalancer;
  readonly clients: UpstreamClients;
  readonly random: () => number;
  /** Upstream policies: the retry circuit breaker and outlier-detection reports; absent ⇒ neither. */
  readonly upstream?: UpstreamPolicies;
}

export interface ForwardRequest {
  readonly cluster: Cluster;
  readonly method: string;
  readonly target: string;
  readonly headers: HeaderMap;
  /** undefined ⇒ the request has no body. */
  readonly tap: BodySource | undefined;
  readonly hash: HashInput;
  readonly retry: RetryPolicy;
  /** Per-attempt deadline, ms (0/undefined ⇒ none). */
  readonly perTryMs: number | undefined;
  /**
   * Calls back once the downstream request is complete (at once when it is): the first attempt's
   * per-try timer starts then, as Envoy's (router.cc onRequestComplete arms the per-try timeout
   * of the upstream request in flight); absent ⇒ it starts with the attempt.
   */
  readonly afterRequest?: (cb: () => void) => void;
  readonly ctx: ExchangeContext;
  /** The whole transaction (route timeout or client gone): stops retries and cancels the attempt. */
  readonly signal: CancelSignal;
  /** The downstream connection (tunnel) the request came on: a generated affinity cookie is per connection. */
  readonly downstream?: object;
}

/**
 * `flags` on a response passed through: `UO` when a retry was refused by the cluster's maxRetries.
 * `responseHeaders`: added to the response (Set-Cookie of a generated affinity cookie) or to the
 * local reply (`x-envoy-overloaded: true` on a circuit-breaker overflow).
 */
export type ForwardOutcome =
  | {
      readonly ok: true;
      readonly resp: UpstreamResponse;
      readonly endpoint: UpstreamEndpoint;
      readonly attempts: number;
      readonly release: () => void;
      /** The answer was retriable but no retry was left: Envoy's UpstreamRetryLimitExceeded (URX). */
      readonly retryLimitExceeded: boolean;
      readonly flags?: string;
      readonly responseHeaders?: Readonly<Record<string, string>>;
    }
  | { readonly ok: false; readonly status: number; readonly flags: string; readonly attempts: number; readonly error: Error; readonly endpoint?: UpstreamEndpoint; readonly responseHeaders?: Readonly<Record<string, string>> };

/** Envoy caps the backoff at 10× the base interval. */
const MAX_BACKOFF_FACTOR = 10;

/** Wait before retry `n` (1-based): in [base·2^(n-1), base·2^n), capped, never below base (GEP-1731). */
export function backoffMs(base: number, n: number, random: () => number): number {
  const lo = base * 2 ** (n - 1);
  return Math.min(lo + random() * lo, base * MAX_BACKOFF_FACTOR);
}

function failureRetriable(kind: AttemptFailure['kind'], p: RetryPolicy): boolean {
  // retryOn holds a handful of names: includes() on it, no Set per call (this runs per response).
  const on = p.retryOn;
  const broad = on.includes('5xx') || on.includes('gateway-error');
  switch (kind) {
    case 'connect': return broad || on.includes('connect-failure') || on.includes('reset');
    case 'refused': return broad || on.includes('refused-stream') || on.includes('reset');
    case 'reset': return broad || on.includes('reset');
    case 'timeout': return broad || on.includes('reset') || p.codes.includes(504);
    // Envoy never retries a circuit-breaker overflow (RetryStateImpl::wouldRetryFromReset).
    case 'overflow': return false;
  }
}

export function statusRetriable(status: number, headers: HeaderMap, p: RetryPolicy): boolean {
  const on = p.retryOn;
  if (p.codes.includes(status)) return true;
  if (status >= 500 && on.includes('5xx')) return true;
  if ((status === 502 || status === 503 || status === 504) && on.includes('gateway-error')) return true;
  if (!on.includes('unavailable') && !on.includes('cancelled')) return false;
  const grpc = headerValue(headers, 'grpc-status');
  if (grpc === '14' && on.includes('unavailable')) return true;
  if (grpc === '1' && on.includes('cancelled')) return true;
  return false;
}

function sleep(ms: number, signal: CancelSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function forward(inputs: ForwarderInputs, r: ForwardRequest): Promise<ForwardOutcome> {
  const tried = new Set<string>();
  const maxCalls = 1 + Math.max(0, r.retry.attempts);
  // Upstream policies: a generated affinity cookie (its value is the hash key, its Set-Cookie goes
  // on the response) and the retry budget unit held by the retry in flight (Envoy RetryStateImpl).
  const cookie = cookieToGenerate(r.cluster.lb, r.hash, r.downstream ? downstreamId(r.downstream) : `${r.ctx.clientIp}:${r.ctx.clientPort}|${r.ctx.service ?? ''}`);
  const hash = cookie ? { ...r.hash, generatedCookie: cookie.value } : r.hash;
  const added = cookie ? { responseHeaders: { 'set-cookie': cookie.setCookie } } : {};
  let retrying: (() => void) | undefined;
  let retryOverflow = false;
  const takeRetry = (): boolean => {
    if (!inputs.upstream) return true;
    retrying = inputs.upstream.retryBudget(r.cluster);
    retryOverflow ||= retrying === undefined;
    return retrying !== undefined;
  };
  const endRetry = (): void => {
    retrying?.();
    retrying = undefined;
  };
  let last: { kind: AttemptFailure['kind']; err: Error; endpoint?: UpstreamEndpoint } | undefined;
  let calls = 0;
  // Envoy's router sets URX only when the last outcome was retriable and the limit stopped it
  // (router.cc onUpstreamHeaders / maybeRetryReset: RetryStatus::NoRetryLimitExceeded).
  let limitHit = false;
  while (calls < maxCalls) {
    if (r.signal.aborted) break;
    const all = clusterEndpoints(inputs.state, r.cluster, inputs.network);
    const ep = inputs.lb.pick(r.cluster, all, hash, tried);
    if (!ep) {
      endRetry();
      return { ok: false, status: 503, flags: 'UH', attempts: calls, error: new Error(`no healthy upstream for ${r.cluster.name}`) };
    }
    // A retry needs the whole body again; past the buffer limit the first attempt is the only one.
    const body = r.tap ? r.tap.reader(true) : undefined;
    if (r.tap && !body) break;
    calls++;
    tried.add(ep.key);
    const release = inputs.lb.acquire(ep);
    const attempt = new Cancellation();
    const onOuter = (): void => attempt.abort();
    r.signal.addEventListener('abort', onOuter, { once: true });
    // Later attempts start after the request is complete: their timer starts when they are sent.
    let perTry: NodeJS.Timeout | undefined;
    let perTryOff = false;
    const armPerTry = (): void => {
      if (!perTryOff && r.perTryMs && r.perTryMs > 0) perTry = setTimeout(() => attempt.abort(), r.perTryMs);
    };
    const stopPerTry = (): void => {
      perTryOff = true;
      clearTimeout(perTry);
    };
    if (calls === 1 && r.afterRequest) r.afterRequest(armPerTry);
    else armPerTry();
    try {
      const resp = await exchange(inputs.clients, ep, r.cluster, { method: r.method, target: r.target, headers: r.headers, body, trailers: () => r.tap?.trailers?.() }, r.ctx, attempt.signal);
      endRetry();
      if (!r.signal.aborted) inputs.upstream?.report(r.cluster, ep, resp.status);
      const canRetry = calls < maxCalls && (!r.tap || r.tap.replayable) && !r.signal.aborted;
      const retriable = statusRetriable(resp.status, resp.headers, r.retry);
      if (canRetry && retriable && takeRetry()) {
        resp.abort();
        resp.body.resume();
        release();
        stopPerTry();
        r.signal.removeEventListener('abort', onOuter);
        last = { kind: 'reset', err: new Error(`retriable status ${resp.status}`), endpoint: ep };
        await sleep(backoffMs(r.retry.backoffMs, calls, inputs.random), r.signal);
        continue;
      }
      // The per-try deadline runs until the response is complete (GEP-1742 backendRequest).
      const finish = (): void => {
        stopPerTry();
        r.signal.removeEventListener('abort', onOuter);
        release();
      };
      resp.body.once('end', finish);
      resp.body.once('close', finish);
      return {
        ok: true, resp, endpoint: ep, attempts: calls, release: finish,
        retryLimitExceeded: retriable && calls >= maxCalls,
        ...(retryOverflow ? { flags: 'UO' } : {}),
        ...added,
      };
    } catch (err) {
      endRetry();
      stopPerTry();
      r.signal.removeEventListener('abort', onOuter);
      release();
      if (body && r.tap) r.tap.release(body);
      const kind = err instanceof AttemptFailure ? err.kind : 'reset';
      last = { kind, err: err as Error, endpoint: ep };
      // A body the client broke (gone, malformed) cannot be sent again.
      if (r.signal.aborted || r.tap?.broken) break;
      // Envoy maps local-origin failures to 503 (connect failure, reset) or 504 (timeout) for
      // outlier detection; an overflow is the cluster's, not the endpoint's, and is not counted.
      if (kind !== 'overflow') inputs.upstream?.report(r.cluster, ep, kind === 'timeout' ? 504 : 503);
      const retriable = failureRetriable(kind, r.retry);
      if (!(calls < maxCalls && (!r.tap || r.tap.replayable) && retriable) || !takeRetry()) {
        limitHit = retriable && calls >= maxCalls;
        break;
      }
      await sleep(backoffMs(r.retry.backoffMs, calls, inputs.random), r.signal);
    }
  }
  endRetry();
  const error = last?.err ?? new Error('request cancelled');
  const retried = limitHit ? ',URX' : '';
  const uo = retryOverflow ? ',UO' : '';
  switch (last?.kind) {
    case 'overflow':
      return { ok: false, status: 503, flags: `UO${retried}`, attempts: calls, error, endpoint: last.endpoint, responseHeaders: { 'x-envoy-overloaded': 'true' } };
    case 'connect': return { ok: false, status: 503, flags: `UF${uo}${retried}`, attempts: calls, error, endpoint: last.endpoint };
    case 'timeout': return { ok: false, status: 504, flags: `UT${uo}${retried}`, attempts: calls, error, endpoint: last.endpoint };
    default: return { ok: false, status: 503, flags: `UC${uo}${retried}`, attempts: calls, error, endpoint: last?.endpoint };
  }
}
