// Hostnames the node agent resolves itself: endpoints known only by hostname (ServiceEntry
// resolution DNS; ztunnel resolves these with the system resolver), and the hosts of such
// ServiceEntries, so a client that resolved `api.example.com` itself and dialled its real address
// is treated as if it had dialled the host's VIP (what ztunnel's DNS proxy achieves by answering
// with the VIP; Ambit has no DNS proxy). Answers are cached 30 s (ztunnel's DNS TTL), failures 5 s.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { MeshError } from '../common/errors.js';
import { canonicalIp, type Service, type StateSnapshot, type Workload } from '../state/index.js';
import type { SocketAddr } from './outbound-route.js';

/** Resolves a hostname to canonical IPs; rejects when it cannot. */
export type HostResolver = (hostname: string) => Promise<readonly string[]>;

export interface ServiceEntryHostsOptions {
  readonly resolver?: HostResolver;
  /** How long an answer is used (ms). */
  readonly ttlMs?: number;
  /** How long a failed lookup is remembered as failed (ms): no retry storm, fail closed meanwhile. */
  readonly failureTtlMs?: number;
  /** A lookup slower than this fails (ms). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** The narrow state view: the snapshot (to index) and services by key. */
export interface HostsState {
  snapshot(): StateSnapshot;
  serviceByKey(key: string): Service | undefined;
}

const DEFAULTS = { ttlMs: 30_000, failureTtlMs: 5_000, timeoutMs: 2_000 } as const;
/** Expired entries are swept when the cache grows past this many hostnames. */
const SWEEP_AT = 1024;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address, as the OS orders them. */
export const systemResolver: HostResolver = async (hostname) => {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => canonicalIp(a.address)).filter((ip): ip is string => ip !== undefined);
};

interface CacheEntry {
  readonly until: number;
  readonly ips: readonly string[] | undefined;
  readonly error: string | undefined;
}

export class ServiceEntryHosts {
  private readonly resolver: HostResolver;
  private readonly ttlMs: number;
  private readonly failureTtlMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  /** Per snapshot: service port → services with hostname endpoints declaring it (state order). */
  private readonly indexes = new WeakMap<StateSnapshot, ReadonlyMap<number, readonly Service[]>>();

  constructor(options: ServiceEntryHostsOptions = {}) {
    this.resolver = options.resolver ?? systemResolver;
    this.ttlMs = options.ttlMs ?? DEFAULTS.ttlMs;
    this.failureTtlMs = options.failureTtlMs ?? DEFAULTS.failureTtlMs;
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.now = options.now ?? Date.now;
  }

  /**
   * The IP to dial for an endpoint known by `hostname`: a random answer of the family of `prefer`
   * (the address the client dialled), else any. MeshError DNS_LOOKUP when there is none.
   */
  async addressFor(hostname: string, prefer: string, random: () => number = Math.random): Promise<string> {
    const e = await this.lookup(hostname);
    if (e.ips === undefined || e.ips.length === 0) throw new MeshError('DNS_LOOKUP', `cannot resolve ${hostname}: ${e.error ?? 'no address'}`);
    const family = isIP(prefer);
    const same = e.ips.filter((ip) => isIP(ip) === family);
    const pool = same.length > 0 ? same : e.ips;
    return pool[Math.floor(random() * pool.length)] ?? pool[0]!;
  }

  /**
   * The ServiceEntry host `dst` is an address of: a Service with hostname endpoints that declares
   * `dst.port`, visible from `source`, whose own hostname resolves to `dst.ip`. First in state
   * order; undefined when none (or its lookups fail: nothing is admitted on a failure).
   */
  async serviceAt(state: HostsState, source: Workload, dst: SocketAddr): Promise<Service | undefined> {
    const candidates = this.candidates(state, source, dst.port);
    if (candidates.length === 0) return undefined;
    const answers = await Promise.all(candidates.map((s) => this.lookup(s.hostname)));
    for (const [i, e] of answers.entries()) if (e.ips?.includes(dst.ip)) return candidates[i];
    return undefined;
  }

  /**
   * The services serviceAt would try for `port` (synchronous, no lookup): callers skip the await
   * when there is none, so a connection to no ServiceEntry port costs one map lookup.
   */
  candidates(state: HostsState, source: Workload, port: number): Service[] {
    const out: Service[] = [];
    for (const s of this.indexOf(state).get(port) ?? []) {
      if (s.visibility !== 'Namespace' || s.namespace === source.namespace) out.push(s);
    }
    return out;
  }

  /** Cache entries held (diagnostics and tests; not yet in /config_dump). */
  dump(): Array<{ hostname: string; ips: readonly string[]; error?: string; expiresInMs: number }> {
    const now = this.now();
    return [...this.cache].map(([hostname, e]) => ({
      hostname,
      ips: e.ips ?? [],
      ...(e.error !== undefined ? { error: e.error } : {}),
      expiresInMs: Math.max(0, e.until - now),
    }));
  }

  private indexOf(state: HostsState): ReadonlyMap<number, readonly Service[]> {
    const snapshot = state.snapshot();
    let index = this.indexes.get(snapshot);
    if (index === undefined) {
      index = buildIndex(snapshot, state);
      this.indexes.set(snapshot, index);
    }
    return index;
  }

  /** Cached answer, else one lookup per hostname at a time (concurrent callers share it). */
  private lookup(hostname: string): Promise<CacheEntry> {
    const hit = this.cache.get(hostname);
    if (hit !== undefined && hit.until > this.now()) return Promise.resolve(hit);
    let pending = this.inflight.get(hostname);
    if (pending === undefined) {
      pending = this.resolveBounded(hostname).then(
        (ips): CacheEntry => ({ until: this.now() + this.ttlMs, ips, error: undefined }),
        (err: unknown): CacheEntry => ({ until: this.now() + this.failureTtlMs, ips: undefined, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message }),
      ).then((entry) => {
        this.inflight.delete(hostname);
        if (this.cache.size >= SWEEP_AT) this.sweep();
        this.cache.set(hostname, entry);
        return entry;
      });
      this.inflight.set(hostname, pending);
    }
    return pending;
  }

  private resolveBounded(hostname: string): Promise<readonly string[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lookup timed out after ${this.timeoutMs}ms`)), this.timeoutMs);
      timer.unref();
      this.resolver(hostname).then(
        (ips) => {
          clearTimeout(timer);
          resolve(ips);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.cache) if (e.until <= now) this.cache.delete(k);
  }
}

/**
 * Services that have at least one endpoint known only by hostname (resolution DNS), not wildcard
 * hosts, by each of their ports; each service once per port, in state order. Built at most once
 * per snapshot, on the first unknown destination after a change (O(workloads), as the state's own
 * indexes).
 */
function buildIndex(snapshot: StateSnapshot, state: HostsState): Map<number, Service[]> {
  const out = new Map<number, Service[]>();
  const seen = new Set<string>();
  for (const w of snapshot.workloads) {
    if (w.workloadIps.length > 0 || w.hostname === '') continue;
    for (const key of w.services.keys()) {
      if (seen.has(key)) continue;
      seen.add(key);
      const service = state.serviceByKey(key);
      if (service === undefined || service.hostname.startsWith('*')) continue;
      for (const port of service.ports.keys()) {
        const list = out.get(port);
        if (list === undefined) out.set(port, [service]);
        else list.push(service);
      }
    }
  }
  return out;
}
