// Connections from the waypoint to cluster endpoints: HBONE CONNECT streams through a pool (the
// waypoint's own certificate, the endpoint's identity expected) or plain TCP for non-mesh
// workloads; on top of them one connection pool per (cluster, endpoint) for HTTP/1.1 or HTTP/2.

import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { MeshError, isMeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { buildForwarded, formatAuthority, newTraceparent, type HbonePool } from '../hbone/index.js';
import type { CertSource } from '../identity/index.js';
import { clientConnectOptions } from '../tls/index.js';
import type { CancelSignal } from './cancellation.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { UpstreamEndpoint } from './load-balancer.js';
import type { Cluster } from './model/route-model.js';
import { H1Connection, H2Connection } from './upstream-connection.js';
import { HostPool, type CloseReason, type Lease } from './upstream-pool.js';

/** Istio's connectionPool.http.idleTimeout default (1 h). */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 3_600_000;

export interface UpstreamConnectionEvents {
  opened(cluster: string): void;
  connectFailed(cluster: string): void;
  closed(cluster: string, reason: CloseReason): void;
}

export interface UpstreamClientsInputs {
  readonly pool: HbonePool;
  readonly certs: CertSource;
  /** The waypoint's own SPIFFE id: it presents its certificate upstream, never the client's. */
  readonly identity: string;
  readonly hbonePort: number;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  /** The cluster's circuit breakers (one per cluster, shared by its endpoints' pools). */
  readonly breaker: (cluster: Cluster) => CircuitBreaker;
  readonly events?: UpstreamConnectionEvents;
}

type AnyPool = HostPool<H1Connection> | HostPool<H2Connection>;

interface PoolEntry {
  readonly cluster: string;
  readonly endpoint: string;
  readonly protocol: Cluster['protocol'];
  readonly pool: AnyPool;
}

/** Whether an error happened before any byte reached the endpoint (connect-failure for retries). */
export function isConnectFailure(err: unknown): boolean {
  return isMeshError(err) && ['UPSTREAM_CONNECT', 'CONNECT_TIMEOUT', 'HBONE_STATUS', 'H2_STREAM', 'TLS_HANDSHAKE', 'IDENTITY_MISMATCH', 'CERT_INVALID', 'DRAINING', 'CA_ERROR'].includes(err.code);
}

export class UpstreamClients {
  /** `cluster name|endpoint key` → the endpoint's pool for that cluster. */
  private readonly pools = new Map<string, PoolEntry>();
  /** Pools drained (endpoint or cluster gone) with connections still finishing. */
  private readonly retired = new Set<AnyPool>();
  private readonly streams = new Set<Duplex>();

  constructor(private readonly inputs: UpstreamClientsInputs) {}

  /** A byte stream to the endpoint's target port; rejects with a connect-failure MeshError. */
  async open(ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }): Promise<Duplex> {
    const d = ep.hbone ? await this.openHbone(ep, context) : await this.openTcp(ep);
    this.streams.add(d);
    d.once('close', () => this.streams.delete(d));
    return d;
  }

  private async openHbone(ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }): Promise<Duplex> {
    const { identity, pool } = this.inputs;
    let cert;
    try {
      cert = await this.inputs.certs.fetch(identity, 'realtime');
    } catch (err) {
      throw new MeshError('CA_ERROR', `no certificate for ${identity}: ${(err as Error).message}`, { cause: err });
    }
    const nextHop = { ip: ep.ip, port: this.inputs.hbonePort };
    const { stream } = await pool.connect({
      key: `${identity}|${ep.identity}|${formatAuthority(nextHop.ip, nextHop.port)}`,
      nextHop,
      tls: () => clientConnectOptions(cert, [ep.identity]),
      expectedSans: [ep.identity],
      authority: formatAuthority(ep.ip, ep.port),
      headers: { forwarded: buildForwarded(context.clientIp, context.clientPort, context.service), traceparent: newTraceparent() },
    });
    stream.on('error', () => {});
    return stream;
  }

  private openTcp(ep: UpstreamEndpoint): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: ep.ip, port: ep.port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new MeshError('CONNECT_TIMEOUT', `tcp connect to ${formatAuthority(ep.ip, ep.port)} timed out`));
      }, this.inputs.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        s.on('error', () => {});
        resolve(s);
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new MeshError('UPSTREAM_CONNECT', `tcp connect to ${formatAuthority(ep.ip, ep.port)} failed: ${err.message}`, { cause: err }));
      };
      s.once('error', onError);
    });
  }

  private pool(cluster: Cluster, ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }): AnyPool {
    const key = `${cluster.name}|${ep.key}`;
    const idleTimeoutMs = cluster.idleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS;
    const found = this.pools.get(key);
    if (found && found.protocol === cluster.protocol) {
      found.pool.idleTimeoutMs = idleTimeoutMs;
      return found.pool;
    }
    if (found) this.retire(key, found);
    const events = this.inputs.events;
    const name = cluster.name;
    const common = {
      breaker: this.inputs.breaker(cluster),
      idleTimeoutMs,
      events: events && { opened: () => events.opened(name), connectFailed: () => events.connectFailed(name), closed: (r: CloseReason) => events.closed(name, r) },
    };
    // The first request's client context rides on the connection (HBONE `forwarded`), as before pooling.
    const pool: AnyPool = cluster.protocol === 'http2'
      ? new HostPool<H2Connection>({
        ...common,
        multiplexed: true,
        connect: async (hooks) => new H2Connection(await this.open(ep, context), formatAuthority(ep.ip, ep.port), hooks, (err) => {
          this.inputs.logger.debug({ endpoint: ep.key, err: err.message }, 'waypoint upstream h2 session error');
        }),
      })
      : new HostPool<H1Connection>({ ...common, multiplexed: false, connect: async (hooks) => new H1Connection(await this.open(ep, context), hooks) });
    this.pools.set(key, { cluster: cluster.name, endpoint: ep.key, protocol: cluster.protocol, pool });
    return pool;
  }

  /** A stream slot on an HTTP/1.1 connection to `ep` (see HostPool.acquire). */
  acquireH1(cluster: Cluster, ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }, signal: CancelSignal): Promise<Lease<H1Connection>> {
    return (this.pool({ ...cluster, protocol: 'http1' }, ep, context) as HostPool<H1Connection>).acquire(signal);
  }

  /** A stream slot on an HTTP/2 session to `ep` (see HostPool.acquire). */
  acquireH2(cluster: Cluster, ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }, signal: CancelSignal): Promise<Lease<H2Connection>> {
    return (this.pool({ ...cluster, protocol: 'http2' }, ep, context) as HostPool<H2Connection>).acquire(signal);
  }

  private retire(key: string, entry: PoolEntry): void {
    this.pools.delete(key);
    entry.pool.close();
    if (!entry.pool.idle) this.retired.add(entry.pool);
  }

  /**
   * Keeps the pools of (cluster, endpoint) pairs still configured; the others drain: idle
   * connections close now, busy ones after their requests (Envoy drains a removed host's pools).
   */
  retain(live: (cluster: string, endpoint: string) => boolean): void {
    for (const [key, entry] of this.pools) if (!live(entry.cluster, entry.endpoint)) this.retire(key, entry);
    for (const p of this.retired) if (p.idle) this.retired.delete(p);
  }

  /** Pool figures per cluster, for /config_dump and the connection gauges. */
  stats(): Map<string, { connections: number; busy: number; activeStreams: number; pending: number }> {
    const out = new Map<string, { connections: number; busy: number; activeStreams: number; pending: number }>();
    for (const e of this.pools.values()) {
      const s = e.pool.stats();
      const acc = out.get(e.cluster) ?? { connections: 0, busy: 0, activeStreams: 0, pending: 0 };
      acc.connections += s.connections;
      acc.busy += s.busy;
      acc.activeStreams += s.activeStreams;
      acc.pending += s.pending;
      out.set(e.cluster, acc);
    }
    return out;
  }

  /** Closes idle connections; busy ones finish their requests first. */
  close(): void {
    for (const [key, e] of this.pools) this.retire(key, e);
  }

  destroy(): void {
    for (const e of this.pools.values()) e.pool.destroy();
    this.pools.clear();
    for (const p of this.retired) p.destroy();
    this.retired.clear();
    for (const s of this.streams) s.destroy();
  }
}
