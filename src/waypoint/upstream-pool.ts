// The connection pool of one (cluster, endpoint) after Envoy's ConnPoolImplBase: ready/busy/
// connecting connections, a pending queue, the cluster's circuit breakers on each step,
// maxRequestsPerConnection, idle timeout, and draining when the endpoint or cluster goes away.

import { MeshError } from '../common/errors.js';
import type { CancelSignal } from './cancellation.js';
import type { CircuitBreaker } from './circuit-breaker.js';

/** One upstream connection as the pool drives it. */
export interface PoolConnection {
  /** Streams it can carry at once now (HTTP/1.1: 1; HTTP/2: the peer's SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly capacity: number;
  /** A stream was attached; `done` ends it (the connection may call it itself, e.g. HTTP/1.1 socket freed). */
  attached(done: () => void): void;
  /** No new streams; in-flight ones finish, then the transport closes (HTTP/2 GOAWAY). */
  close(): void;
  destroy(): void;
}

/** What a connection reports to its pool. `closed` is called at most once; `unusable` may repeat. */
export interface ConnectionHooks {
  /** The connection takes no new streams (peer GOAWAY). */
  unusable(): void;
  /** The transport is gone. */
  closed(): void;
}

export type Connector<C extends PoolConnection> = (hooks: ConnectionHooks) => Promise<C>;

export type CloseReason = 'idle_timeout' | 'max_requests' | 'drained' | 'remote' | 'destroyed';

export interface PoolEvents {
  opened(): void;
  connectFailed(): void;
  closed(reason: CloseReason): void;
}

/** A stream slot on a connection. `done()` is idempotent; see PoolConnection.attached. */
export interface Lease<C> {
  readonly conn: C;
  done(): void;
}

interface Client<C extends PoolConnection> {
  conn: C | undefined;
  active: number;
  /** Streams attached over its life (maxRequestsPerConnection). */
  served: number;
  /** Takes no new stream: max requests reached, GOAWAY, or the pool drains. */
  draining: boolean;
  closeReason: CloseReason | undefined;
  /**
   * Closes the connection once it has been idle `idleMs` (the pool's idleTimeoutMs when armed). Re-armed
   * with refresh() when a stream ends, not cleared when one starts: it is one timer object per
   * connection instead of a new timer per request; firing while streams are active does nothing.
   */
  idleTimer: NodeJS.Timeout | undefined;
  idleMs: number;
  readonly leases: Set<() => void>;
}

interface Pending<C> {
  resolve(l: Lease<C>): void;
  reject(err: Error): void;
  releasePending(): void;
  unlisten(): void;
}

/** Envoy counts a connecting HTTP/2 connection as room for this many pending streams. */
const CONNECTING_CAPACITY_H2 = 2 ** 31 - 1;

export interface HostPoolOptions<C extends PoolConnection> {
  readonly breaker: CircuitBreaker;
  readonly connect: Connector<C>;
  /** Streams one connection is expected to carry while it connects: 1 for HTTP/1.1, many for HTTP/2. */
  readonly multiplexed: boolean;
  readonly idleTimeoutMs: number;
  readonly events?: PoolEvents;
}

export class HostPool<C extends PoolConnection> {
  /** Most recently used last: a ready connection is taken from the end (Envoy moves a freed client to the front). */
  private clients: Client<C>[] = [];
  private readonly pending: Pending<C>[] = [];
  private draining = false;
  private destroyed = false;
  idleTimeoutMs: number;

  constructor(private readonly options: HostPoolOptions<C>) {
    this.idleTimeoutMs = options.idleTimeoutMs;
  }

  private get breaker(): CircuitBreaker {
    return this.options.breaker;
  }

  /**
   * A stream slot: on a ready connection at once (unless maxRequests is reached: overflow), else
   * queued as pending (unless maxPendingRequests is reached: overflow) while a connection is
   * made (unless maxConnections is reached and this endpoint already has one). Rejects with
   * UPSTREAM_OVERFLOW, a connect failure, or DRAINING when `signal` aborts first.
   */
  acquire(signal: CancelSignal): Promise<Lease<C>> {
    if (this.destroyed || this.draining) return Promise.reject(new MeshError('DRAINING', 'upstream connection pool is closing'));
    const ready = this.readyClient();
    if (ready) {
      try {
        return Promise.resolve(this.attach(ready));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    const releasePending = this.breaker.tryAcquire('pending');
    if (!releasePending) return Promise.reject(overflow('pending'));
    return new Promise<Lease<C>>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.pending.indexOf(p);
        if (i >= 0) this.pending.splice(i, 1);
        releasePending();
        reject(new MeshError('DRAINING', 'request cancelled while waiting for an upstream connection'));
      };
      const p: Pending<C> = { resolve, reject, releasePending, unlisten: () => signal.removeEventListener('abort', onAbort) };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.push(p);
      this.createConnections();
    });
  }

  private readyClient(): Client<C> | undefined {
    for (let i = this.clients.length - 1; i >= 0; i--) {
      const c = this.clients[i]!;
      if (c.conn && !c.draining && c.active < c.conn.capacity) return c;
    }
    return undefined;
  }

  /** Envoy attachStreamToClient: the cluster's maxRequests is checked here, per stream. */
  private attach(c: Client<C>): Lease<C> {
    const releaseRequest = this.breaker.tryAcquire('requests');
    if (!releaseRequest) throw overflow('requests');
    const conn = c.conn!;
    c.active++;
    c.served++;
    const max = this.breaker.maxRequestsPerConnection;
    if (max > 0 && c.served >= max) this.markDraining(c, 'max_requests');
    let ended = false;
    const done = (): void => {
      if (ended) return;
      ended = true;
      c.leases.delete(done);
      releaseRequest();
      c.active--;
      this.onStreamDone(c);
    };
    c.leases.add(done);
    conn.attached(done);
    return { conn, done };
  }

  private markDraining(c: Client<C>, reason: CloseReason): void {
    if (!c.draining) {
      c.draining = true;
      c.closeReason ??= reason;
    }
  }

  /** Envoy onUpstreamReady / client idle: serve the queue, close a spent connection, arm the idle timer. */
  private onStreamDone(c: Client<C>): void {
    const i = this.clients.indexOf(c);
    if (i < 0) return;
    // Most recently used goes last.
    if (i !== this.clients.length - 1) {
      this.clients.splice(i, 1);
      this.clients.push(c);
    }
    this.servePending(c);
    if (c.active > 0) return;
    if (c.draining || (this.draining && this.pending.length === 0)) {
      this.closeClient(c, c.closeReason ?? 'drained');
      return;
    }
    // 0: no idle timeout (Envoy idle_timeout 0 disables it).
    if (this.idleTimeoutMs <= 0) {
      if (c.idleTimer) clearTimeout(c.idleTimer);
      c.idleTimer = undefined;
      return;
    }
    if (c.idleTimer && c.idleMs === this.idleTimeoutMs) {
      c.idleTimer.refresh();
      return;
    }
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.idleMs = this.idleTimeoutMs;
    c.idleTimer = setTimeout(() => {
      if (c.active === 0) this.closeClient(c, 'idle_timeout');
    }, c.idleMs);
    c.idleTimer.unref();
  }

  private servePending(c: Client<C>): void {
    while (this.pending.length > 0 && c.conn && !c.draining && c.active < c.conn.capacity) {
      const p = this.pending.shift()!;
      p.unlisten();
      p.releasePending();
      try {
        p.resolve(this.attach(c));
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  /**
   * Envoy tryCreateNewConnections: new connections while the pending streams exceed what the
   * connecting ones will carry. Over maxConnections a connection is still made when this
   * endpoint has none at all (else its pending streams could never be served).
   */
  private createConnections(): void {
    let capacity = 0;
    for (const c of this.clients) if (!c.conn) capacity += this.options.multiplexed ? CONNECTING_CAPACITY_H2 : 1;
    while (this.pending.length > capacity) {
      if (!this.breaker.canCreate('connections')) {
        this.breaker.overflow('connections');
        if (this.clients.length > 0) return;
      }
      this.newClient();
      capacity += this.options.multiplexed ? CONNECTING_CAPACITY_H2 : 1;
    }
  }

  private newClient(): void {
    const releaseConnection = this.breaker.take('connections');
    const c: Client<C> = { conn: undefined, active: 0, served: 0, draining: false, closeReason: undefined, idleTimer: undefined, idleMs: 0, leases: new Set() };
    this.clients.push(c);
    let gone = false;
    const hooks: ConnectionHooks = {
      unusable: () => this.markDraining(c, 'remote'),
      closed: () => {
        if (gone) return;
        gone = true;
        releaseConnection();
        this.onClosed(c);
      },
    };
    this.options.connect(hooks).then(
      (conn) => {
        if (gone) return;
        c.conn = conn;
        this.options.events?.opened();
        if (this.destroyed) {
          this.closeClient(c, 'destroyed');
          return;
        }
        this.servePending(c);
        if (c.active === 0) this.onStreamDone(c);
      },
      (err: Error) => {
        if (gone) return;
        gone = true;
        releaseConnection();
        this.clients = this.clients.filter((x) => x !== c);
        this.options.events?.connectFailed();
        // Envoy purges every pending stream of the host on a connect failure.
        for (const p of this.pending.splice(0)) {
          p.unlisten();
          p.releasePending();
          p.reject(err);
        }
      },
    );
  }

  private closeClient(c: Client<C>, reason: CloseReason): void {
    c.closeReason ??= reason;
    c.draining = true;
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.idleTimer = undefined;
    if (reason === 'destroyed') c.conn?.destroy();
    else c.conn?.close();
  }

  private onClosed(c: Client<C>): void {
    if (c.idleTimer) clearTimeout(c.idleTimer);
    this.clients = this.clients.filter((x) => x !== c);
    for (const done of [...c.leases]) done();
    this.options.events?.closed(c.closeReason ?? 'remote');
    if (this.pending.length > 0 && !this.destroyed) this.createConnections();
  }

  /**
   * Graceful close, when the endpoint left the cluster (or the cluster went away): idle
   * connections close now, busy ones after their streams, pending streams are still served. Takes
   * no new stream. Bounded by the streams' own timeouts; destroy() cuts at once.
   */
  close(): void {
    this.draining = true;
    for (const c of [...this.clients]) {
      if (!c.conn) continue;
      this.markDraining(c, 'drained');
      if (c.active === 0) this.closeClient(c, 'drained');
    }
  }

  destroy(): void {
    this.destroyed = true;
    for (const p of this.pending.splice(0)) {
      p.unlisten();
      p.releasePending();
      p.reject(new MeshError('DRAINING', 'upstream connection pool destroyed'));
    }
    for (const c of [...this.clients]) this.closeClient(c, 'destroyed');
  }

  /** True once draining and nothing is left. */
  get idle(): boolean {
    return this.clients.length === 0 && this.pending.length === 0;
  }

  stats(): { connections: number; connecting: number; busy: number; activeStreams: number; pending: number; draining: boolean } {
    let connecting = 0;
    let busy = 0;
    let activeStreams = 0;
    for (const c of this.clients) {
      if (!c.conn) connecting++;
      else if (c.active > 0) busy++;
      activeStreams += c.active;
    }
    return { connections: this.clients.length, connecting, busy, activeStreams, pending: this.pending.length, draining: this.draining };
  }
}

function overflow(what: 'pending' | 'requests'): MeshError {
  const limit = what === 'pending' ? 'maxPendingRequests' : 'maxRequests';
  return new MeshError('UPSTREAM_OVERFLOW', `upstream overflow: the cluster's ${limit} circuit breaker is at its limit`);
}
