// The waypoint's JWKS cache: inline key sets parsed once, remote ones (jwksUri or OpenID discovery)
// fetched when a config names them, refreshed in the background, kept through failed refreshes,
// and missing ⇒ tokens of that issuer are refused (fail closed). Long-lived: start/close/destroy.

import type { Logger } from '../../common/log.js';
import { loadedJose, loadJose } from './jose-loader.js';
import { discoverJwks, fetchJwks, keySetOf, type FetchedKeys, type KeySet } from './jwks-fetch.js';

export type JwksSource =
  | { readonly kind: 'inline'; readonly jwks: string }
  | { readonly kind: 'uri'; readonly uri: string; readonly timeoutMs: number }
  | { readonly kind: 'discovery'; readonly issuer: string; readonly timeoutMs: number };

export interface JwksCacheOptions {
  readonly logger: Logger;
  /** Background refresh of fetched keys, ms (Istio refreshes JWKS every 20 min). */
  readonly refreshMs?: number;
  /** First retry after a failed fetch, doubling up to `retryMaxMs`, ms. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** A token with an unknown `kid` triggers a refresh at most this often, ms (key rotation). */
  readonly kidMissRefreshMs?: number;
  readonly onFetch?: (result: 'success' | 'failure') => void;
}

export const DEFAULT_JWKS_REFRESH_MS = 20 * 60_000;

interface RemoteEntry {
  readonly source: Exclude<JwksSource, { kind: 'inline' }>;
  keys?: FetchedKeys;
  fetchedAt?: number;
  lastAttempt: number;
  inflight?: Promise<void>;
  failures: number;
  lastError?: string;
  timer?: NodeJS.Timeout;
  abort?: AbortController;
}

export function sourceKey(s: JwksSource): string {
  switch (s.kind) {
    case 'inline': return `inline:${s.jwks}`;
    case 'uri': return `uri:${s.uri}`;
    case 'discovery': return `discovery:${s.issuer}`;
    default: {
      const never: never = s;
      return never;
    }
  }
}

export class JwksCache {
  private readonly inline = new Map<string, KeySet | Error>();
  private readonly remote = new Map<string, RemoteEntry>();
  /** The sources of the last sync. */
  private wanted: readonly JwksSource[] = [];
  private readonly refreshMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly kidMissRefreshMs: number;
  private started = false;
  private closed = false;

  constructor(private readonly options: JwksCacheOptions) {
    this.refreshMs = options.refreshMs ?? DEFAULT_JWKS_REFRESH_MS;
    this.retryMinMs = options.retryMinMs ?? 1_000;
    this.retryMaxMs = options.retryMaxMs ?? 60_000;
    this.kidMissRefreshMs = options.kidMissRefreshMs ?? 30_000;
  }

  /** Fetching starts here (and for sources synced before start). */
  start(): void {
    this.started = true;
    for (const e of this.remote.values()) if (e.keys === undefined && e.inflight === undefined) this.fetch(e);
  }

  /**
   * The sources the config in force names: new remote ones are fetched at once, dropped ones
   * forgotten (timers and fetches cancelled); kept ones keep their keys and schedule.
   */
  sync(sources: readonly JwksSource[]): void {
    this.wanted = sources;
    const wanted = new Map(sources.map((s) => [sourceKey(s), s]));
    for (const [k, e] of this.remote) {
      if (!wanted.has(k)) {
        this.stop(e);
        this.remote.delete(k);
      }
    }
    for (const k of this.inline.keys()) if (!wanted.has(k)) this.inline.delete(k);
    let pendingInline = false;
    for (const [k, s] of wanted) {
      if (s.kind === 'inline') {
        if (!this.inline.has(k)) {
          if (loadedJose() === undefined) pendingInline = true;
          else this.addInline(k, s.jwks);
        }
        continue;
      }
      if (this.remote.has(k)) continue;
      const e: RemoteEntry = { source: s, lastAttempt: 0, failures: 0 };
      this.remote.set(k, e);
      if (this.started && !this.closed) this.fetch(e);
    }
    // Inline sets are parsed with jose; without it yet (a config applied unprepared), once it loads.
    if (pendingInline) void loadJose().then(() => this.parsePendingInline(), () => undefined);
  }

  private addInline(k: string, jwks: string): void {
    const v = parseInline(jwks);
    if (v instanceof Error) this.options.logger.warn({ err: v.message }, 'waypoint: inline JWKS is unusable; tokens of its issuer are refused');
    this.inline.set(k, v);
  }

  /** Parses the inline sources the current sources named before jose was loaded. */
  private parsePendingInline(): void {
    for (const s of this.wanted) if (s.kind === 'inline' && !this.inline.has(sourceKey(s))) this.addInline(sourceKey(s), s.jwks);
  }

  /**
   * The key set of a source. Remote keys being fetched for the first time are waited for (the
   * fetch has its deadline); undefined ⇒ no usable keys (never fetched successfully, or invalid).
   */
  keys(source: JwksSource): KeySet | undefined | Promise<KeySet | undefined> {
    const k = sourceKey(source);
    if (source.kind === 'inline') {
      if (loadedJose() === undefined) return loadJose().then(() => this.keys(source), () => undefined);
      const v = this.inline.get(k) ?? parseInline(source.jwks);
      return v instanceof Error ? undefined : v;
    }
    const e = this.remote.get(k);
    if (e === undefined) return undefined;
    if (e.keys !== undefined) return e.keys.keys;
    if (e.inflight !== undefined) return e.inflight.then(() => e.keys?.keys);
    return undefined;
  }

  /** A token named a key the set lacks: fetch again soon (key rotation), at most every kidMissRefreshMs. */
  keyMissing(source: JwksSource): void {
    if (source.kind === 'inline' || this.closed || !this.started) return;
    const e = this.remote.get(sourceKey(source));
    if (e === undefined || e.inflight !== undefined || Date.now() - e.lastAttempt < this.kidMissRefreshMs) return;
    this.fetch(e);
  }

  private fetch(e: RemoteEntry): void {
    if (this.closed) return;
    clearTimeout(e.timer);
    e.timer = undefined;
    e.lastAttempt = Date.now();
    const abort = new AbortController();
    e.abort = abort;
    const s = e.source;
    const what = s.kind === 'uri' ? { jwksUri: s.uri } : { issuer: s.issuer };
    const p = s.kind === 'uri' ? fetchJwks(s.uri, s.timeoutMs, abort.signal) : discoverJwks(s.issuer, s.timeoutMs, abort.signal);
    e.inflight = p.then(
      (keys) => {
        if (abort.signal.aborted) return;
        e.keys = keys;
        e.fetchedAt = Date.now();
        e.failures = 0;
        e.lastError = undefined;
        this.options.onFetch?.('success');
        this.options.logger.debug({ ...what, keys: keys.keyCount }, 'waypoint: JWKS fetched');
        this.schedule(e, this.refreshMs);
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        e.failures++;
        e.lastError = (err as Error).message;
        this.options.onFetch?.('failure');
        const retry = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** (e.failures - 1));
        this.options.logger.warn(
          { ...what, err: e.lastError, retryMs: retry, cachedKeys: e.keys !== undefined },
          e.keys ? 'waypoint: JWKS refresh failed; the cached keys stay in use' : 'waypoint: JWKS fetch failed; tokens of this issuer are refused until it succeeds',
        );
        this.schedule(e, retry);
      },
    ).finally(() => {
      if (e.abort === abort) {
        e.inflight = undefined;
        e.abort = undefined;
      }
    });
  }

  private schedule(e: RemoteEntry, ms: number): void {
    if (this.closed) return;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => this.fetch(e), ms);
    e.timer.unref();
  }

  private stop(e: RemoteEntry): void {
    clearTimeout(e.timer);
    e.timer = undefined;
    e.abort?.abort();
  }

  /** For /config_dump. */
  dump(): unknown[] {
    const out: unknown[] = [];
    for (const [k, v] of this.inline) out.push({ source: 'inline', bytes: k.length - 'inline:'.length, usable: !(v instanceof Error), error: v instanceof Error ? v.message : undefined });
    for (const e of this.remote.values()) {
      out.push({
        source: e.source.kind === 'uri' ? e.source.uri : `discovery ${e.source.issuer}`,
        keys: e.keys?.keyCount ?? 0,
        fetchedAt: e.fetchedAt === undefined ? undefined : new Date(e.fetchedAt).toISOString(),
        fetching: e.inflight !== undefined,
        failures: e.failures,
        lastError: e.lastError,
      });
    }
    return out;
  }

  /** Stops refreshing and cancels fetches; cached keys stay readable until destroy. */
  close(): void {
    this.closed = true;
    for (const e of this.remote.values()) this.stop(e);
  }

  destroy(): void {
    this.close();
    this.remote.clear();
    this.inline.clear();
    this.wanted = [];
  }
}

function parseInline(jwks: string): KeySet | Error {
  try {
    return keySetOf(JSON.parse(jwks)).keys;
  } catch (err) {
    return err as Error;
  }
}
