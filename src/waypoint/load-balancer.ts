// Cluster endpoints from the mesh state and Envoy's LB policies over them (LEAST_REQUEST with two
// random choices, ROUND_ROBIN, RANDOM, CONSISTENT_HASH on a ketama-style ring), with the active
// request count per endpoint that LEAST_REQUEST and /config_dump read.

import { createHash } from 'node:crypto';
import { serviceKey, targetPortFor, type ProxyState, type Workload } from '../state/index.js';
import { formatSpiffeId, identityFromWorkload } from '../tls/index.js';
import type { Cluster } from './model/route-model.js';
import { headerValue, type HeaderMap } from './routing/index.js';

export interface UpstreamEndpoint {
  /** `uid|ip:port`: the identity of the endpoint in counters and pools. */
  readonly key: string;
  readonly workload: Workload;
  /**
   * The IP dialled; for a plain-TCP endpoint known only by hostname (a ServiceEntry with resolution
   * DNS) the hostname, which the TCP connect resolves (as Envoy's DNS clusters do).
   */
  readonly ip: string;
  /** Target port on the workload. */
  readonly port: number;
  readonly identity: string;
  /** Reached over HBONE (the workload's tunnel protocol), else plain TCP. */
  readonly hbone: boolean;
  readonly healthy: boolean;
}

/** What a CONSISTENT_HASH key is read from. */
export interface HashInput {
  readonly headers: HeaderMap;
  readonly query: string;
  readonly sourceIp: string;
}

/** Virtual nodes per endpoint on the hash ring (Envoy's ring_hash minimum is 1024 per ring; we scale per endpoint). */
const RING_REPLICAS = 64;

function hash32(s: string): number {
  return createHash('md5').update(s).digest().readUInt32BE(0);
}

/**
 * All endpoints of a cluster: workloads of its service with a target port for the cluster's port,
 * on our network, narrowed to `workloadUids`; unhealthy ones are kept (marked) for the dump.
 */
export function clusterEndpoints(state: ProxyState, cluster: Cluster, network: string): UpstreamEndpoint[] {
  const key = serviceKey(cluster.namespace, cluster.hostname);
  const svc = state.serviceByKey(key);
  if (!svc || !svc.ports.has(cluster.port)) return [];
  const allow = cluster.workloadUids ? new Set(cluster.workloadUids) : undefined;
  const out: UpstreamEndpoint[] = [];
  for (const ep of state.endpoints(key)) {
    if (allow && !allow.has(ep.workloadUid)) continue;
    const wl = state.workloadByUid(ep.workloadUid);
    // Cross-network endpoints need an east-west gateway, which the node agent does not do either.
    if (!wl || wl.network !== network) continue;
    const ip = wl.workloadIps[0] ?? (wl.protocol === 'TCP' && wl.hostname !== '' ? wl.hostname : undefined);
    const port = targetPortFor(svc, cluster.port, ep, wl);
    if (ip === undefined || port === undefined) continue;
    const healthy = ep.status === 'Healthy' || svc.loadBalancer?.healthPolicy === 'AllowAll';
    out.push({
      key: `${wl.uid}|${ip}:${port}`,
      workload: wl,
      ip,
      port,
      identity: formatSpiffeId(identityFromWorkload(wl)),
      hbone: wl.protocol === 'HBONE',
      healthy,
    });
  }
  return out;
}

export class LoadBalancer {
  private readonly active = new Map<string, number>();
  private readonly rr = new Map<string, number>();
  private readonly rings = new Map<string, { readonly sig: string; readonly ring: readonly { h: number; key: string }[] }>();

  constructor(private readonly random: () => number) {}

  activeRequests(endpointKey: string): number {
    return this.active.get(endpointKey) ?? 0;
  }

  /** Counts a request on `ep` until the returned release is called (idempotent). */
  acquire(ep: UpstreamEndpoint): () => void {
    this.active.set(ep.key, this.activeRequests(ep.key) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = this.activeRequests(ep.key) - 1;
      if (n <= 0) this.active.delete(ep.key);
      else this.active.set(ep.key, n);
    };
  }

  /**
   * One healthy endpoint by the cluster's policy; endpoints in `avoid` (already tried by earlier
   * attempts) are skipped while another one remains (Envoy's previous-hosts retry predicate).
   */
  pick(cluster: Cluster, all: readonly UpstreamEndpoint[], input: HashInput, avoid?: ReadonlySet<string>): UpstreamEndpoint | undefined {
    const healthy = all.filter((e) => e.healthy);
    const fresh = avoid && avoid.size > 0 ? healthy.filter((e) => !avoid.has(e.key)) : healthy;
    const eps = fresh.length > 0 ? fresh : healthy;
    if (eps.length === 0) return undefined;
    if (eps.length === 1) return eps[0];
    const lb = cluster.lb;
    switch (lb.kind) {
      case 'ROUND_ROBIN': {
        const i = this.rr.get(cluster.name) ?? 0;
        this.rr.set(cluster.name, (i + 1) % 1_000_000_007);
        return eps[i % eps.length];
      }
      case 'RANDOM':
        return eps[Math.floor(this.random() * eps.length)];
      case 'CONSISTENT_HASH': {
        const key = hashKeyOf(lb.key, input);
        if (key === undefined) return eps[Math.floor(this.random() * eps.length)];
        return this.ringPick(cluster.name, eps, hash32(key));
      }
      case 'LEAST_REQUEST':
      default: {
        // Power of two choices (Envoy's default for LEAST_REQUEST with equal weights).
        const a = eps[Math.floor(this.random() * eps.length)]!;
        let b = eps[Math.floor(this.random() * eps.length)]!;
        if (b === a) b = eps[(eps.indexOf(a) + 1) % eps.length]!;
        return this.activeRequests(b.key) < this.activeRequests(a.key) ? b : a;
      }
    }
  }

  private ringPick(name: string, eps: readonly UpstreamEndpoint[], h: number): UpstreamEndpoint {
    const sig = eps.map((e) => e.key).sort().join(',');
    let cached = this.rings.get(name);
    if (!cached || cached.sig !== sig) {
      const ring: { h: number; key: string }[] = [];
      for (const e of eps) for (let i = 0; i < RING_REPLICAS; i++) ring.push({ h: hash32(`${e.key}_${i}`), key: e.key });
      ring.sort((x, y) => x.h - y.h);
      cached = { sig, ring };
      this.rings.set(name, cached);
    }
    const ring = cached.ring;
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]!.h < h) lo = mid + 1;
      else hi = mid;
    }
    const key = ring[lo % ring.length]!.key;
    return eps.find((e) => e.key === key) ?? eps[0]!;
  }
}

function hashKeyOf(key: { readonly header: string } | { readonly cookie: string } | { readonly sourceIp: true } | { readonly queryParam: string }, input: HashInput): string | undefined {
  if ('header' in key) return headerValue(input.headers, key.header);
  if ('sourceIp' in key) return input.sourceIp;
  if ('cookie' in key) {
    for (const line of input.headers.get('cookie') ?? []) {
      for (const part of line.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === key.cookie) return part.slice(eq + 1).trim();
      }
    }
    return undefined;
  }
  for (const part of input.query.split('&')) {
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)) === key.queryParam) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return undefined;
}
