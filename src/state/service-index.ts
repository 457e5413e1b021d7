// Immutable index of services by key, VIP, CIDR VIP and hostname, plus the endpoints derived from
// Workload.services. Implements the VIP/hostname conflict rules of ztunnel src/state.rs and
// src/state/service.rs.

import { cidrContains } from './ip-address.js';
import {
  networkAddressKey,
  serviceKey,
  type CidrAddress,
  type Endpoint,
  type Service,
  type Workload,
} from './types.js';

interface CidrEntry {
  readonly service: Service;
  readonly cidr: CidrAddress;
  /** Snapshot order, the last tie-breaker. */
  readonly order: number;
}

/**
 * Namespace-visibility services are only resolvable from their own namespace (ztunnel
 * proto/workload.proto, Service.visibility).
 */
function visibleFrom(service: Service, clientNamespace: string | undefined): boolean {
  return clientNamespace === undefined || service.visibility !== 'Namespace' || service.namespace === clientNamespace;
}

/** Among same-address/hostname candidates: client namespace, then canonical, then first seen. */
function bestOf(candidates: readonly Service[], clientNamespace: string | undefined): Service | undefined {
  const visible = candidates.filter((s) => visibleFrom(s, clientNamespace));
  if (clientNamespace !== undefined) {
    const sameNs = visible.find((s) => s.namespace === clientNamespace);
    if (sameNs !== undefined) return sameNs;
  }
  return visible.find((s) => s.canonical) ?? visible[0];
}

export class ServiceIndex {
  readonly byKey: ReadonlyMap<string, Service>;
  private readonly byVip: ReadonlyMap<string, readonly Service[]>;
  private readonly cidrs: readonly CidrEntry[];
  private readonly byHostname: ReadonlyMap<string, readonly Service[]>;
  /** Service key → endpoints, including keys whose service has not arrived (staged). */
  readonly endpointsByKey: ReadonlyMap<string, readonly Endpoint[]>;

  constructor(services: readonly Service[], workloads: readonly Workload[]) {
    const byKey = new Map<string, Service>();
    for (const s of services) byKey.set(serviceKey(s.namespace, s.hostname), s);
    const byVip = new Map<string, Service[]>();
    const cidrs: CidrEntry[] = [];
    const byHostname = new Map<string, Service[]>();
    let order = 0;
    for (const s of byKey.values()) {
      for (const vip of s.vips) {
        const key = networkAddressKey(vip.network, vip.ip);
        const list = byVip.get(key);
        if (list === undefined) byVip.set(key, [s]);
        else list.push(s);
      }
      for (const cidr of s.cidrVips) cidrs.push({ service: s, cidr, order: order++ });
      const hosts = byHostname.get(s.hostname);
      if (hosts === undefined) byHostname.set(s.hostname, [s]);
      else hosts.push(s);
    }
    const endpoints = new Map<string, Endpoint[]>();
    for (const w of workloads) {
      for (const [key, port] of w.services) {
        const ep: Endpoint = { workloadUid: w.uid, port, status: w.status };
        const list = endpoints.get(key);
        if (list === undefined) endpoints.set(key, [ep]);
        else list.push(ep);
      }
    }
    this.byKey = byKey;
    this.byVip = byVip;
    this.cidrs = cidrs;
    this.byHostname = byHostname;
    this.endpointsByKey = endpoints;
  }

  /**
   * Exact VIP match first; CIDR VIPs only after an exact miss, ranked by (client namespace,
   * longest prefix, canonical, first seen).
   */
  byAddress(network: string, ip: string, clientNamespace: string | undefined): Service | undefined {
    const exact = this.byVip.get(networkAddressKey(network, ip));
    if (exact !== undefined) {
      const best = bestOf(exact, clientNamespace);
      if (best !== undefined) return best;
    }
    let best: CidrEntry | undefined;
    for (const entry of this.cidrs) {
      if (entry.cidr.network !== network || !visibleFrom(entry.service, clientNamespace)) continue;
      if (!cidrContains(entry.cidr, ip)) continue;
      if (best === undefined || cidrBetter(entry, best, clientNamespace)) best = entry;
    }
    return best?.service;
  }

  byHost(hostname: string, preferNamespace: string | undefined): Service | undefined {
    return bestOf(this.byHostname.get(hostname) ?? [], preferNamespace);
  }

  /** Keys that have endpoints but no service yet (ztunnel's "staged services"). */
  stagedKeys(): string[] {
    return [...this.endpointsByKey.keys()].filter((k) => !this.byKey.has(k));
  }
}

function cidrBetter(a: CidrEntry, b: CidrEntry, clientNamespace: string | undefined): boolean {
  const aNs = a.service.namespace === clientNamespace;
  const bNs = b.service.namespace === clientNamespace;
  if (aNs !== bNs) return aNs;
  if (a.cidr.prefixLength !== b.cidr.prefixLength) return a.cidr.prefixLength > b.cidr.prefixLength;
  if (a.service.canonical !== b.service.canonical) return a.service.canonical;
  return a.order < b.order;
}
