// The per-endpoint connection pool and the cluster's circuit breakers with fake connections:
// maxRequests, maxPendingRequests, maxConnections (one connection per empty endpoint), pending
// served on release, maxRequestsPerConnection, idle timeout, connect failures, drain.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { CircuitBreaker, UNLIMITED, type BreakerResource } from '../../src/waypoint/circuit-breaker.js';
import type { CircuitBreaker as Settings } from '../../src/waypoint/model/route-model.js';
import { HostPool, type CloseReason, type ConnectionHooks, type PoolConnection } from '../../src/waypoint/upstream-pool.js';

class FakeConn implements PoolConnection {
  closed = false;
  constructor(readonly capacity: number, private readonly hooks: ConnectionHooks) {}
  attached(): void {}
  close(): void {
    this.end();
  }
  destroy(): void {
    this.end();
  }
  /** The peer closing it. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.hooks.closed();
  }
}

interface Rig {
  readonly breaker: CircuitBreaker;
  readonly overflows: BreakerResource[];
  readonly closed: CloseReason[];
  readonly conns: FakeConn[];
  /** Connects waiting: resolve or fail them in order. */
  readonly connecting: Array<{ ok: () => void; fail: (e: Error) => void }>;
  pool(opts?: { capacity?: number; idleTimeoutMs?: number; autoConnect?: boolean }): HostPool<FakeConn>;
}

function rig(settings: Settings = {}): Rig {
  const overflows: BreakerResource[] = [];
  const closed: CloseReason[] = [];
  const conns: FakeConn[] = [];
  const connecting: Rig['connecting'] = [];
  const breaker = new CircuitBreaker('c', settings, (r) => overflows.push(r));
  return {
    breaker, overflows, closed, conns, connecting,
    pool: ({ capacity = 1, idleTimeoutMs = 60_000, autoConnect = true } = {}) => new HostPool<FakeConn>({
      breaker,
      multiplexed: capacity > 1,
      idleTimeoutMs,
      events: { opened: () => {}, connectFailed: () => {}, closed: (r) => closed.push(r) },
      connect: (hooks) => new Promise<FakeConn>((resolve, reject) => {
        const ok = (): void => {
          const c = new FakeConn(capacity, hooks);
          conns.push(c);
          resolve(c);
        };
        if (autoConnect) queueMicrotask(ok);
        else connecting.push({ ok, fail: reject });
      }),
    }),
  };
}

const never = new AbortController().signal;
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
function outcome<T>(p: Promise<T>): { value?: T; error?: unknown; done: boolean } {
  const o: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then((v) => Object.assign(o, { value: v, done: true }), (e: unknown) => Object.assign(o, { error: e, done: true }));
  return o;
}

test('breaker: absent thresholds are Istio’s 2^32-1, invalid ones too; maxRequestsPerConnection 0 = unlimited', () => {
  const b = new CircuitBreaker('c', { maxConnections: 3, maxRetries: -1, maxRequests: 1.5, maxRequestsPerConnection: 0 });
  assert.equal(b.limitOf('connections'), 3);
  assert.equal(b.limitOf('retries'), UNLIMITED);
  assert.equal(b.limitOf('requests'), UNLIMITED);
  assert.equal(b.limitOf('pending'), UNLIMITED);
  assert.equal(b.maxRequestsPerConnection, 0);
  const r = b.tryAcquire('connections')!;
  assert.equal(b.remaining('connections'), 2);
  r();
  r();
  assert.equal(b.remaining('connections'), 3);
  assert.deepEqual(new CircuitBreaker('c', { maxRetries: 0 }).tryAcquire('retries'), undefined);
});

test('pool: maxRequests overflows a stream even when a connection is free', async () => {
  const r = rig({ maxRequests: 2 });
  const pool = r.pool({ capacity: 10 });
  const a = await pool.acquire(never);
  const b = await pool.acquire(never);
  await assert.rejects(pool.acquire(never), (e: unknown) => isMeshError(e, 'UPSTREAM_OVERFLOW'));
  assert.deepEqual(r.overflows, ['requests']);
  a.done();
  const c = await pool.acquire(never);
  assert.equal(c.conn, b.conn, 'one multiplexed connection');
  assert.equal(r.breaker.count('requests'), 2);
});

test('pool: HTTP/1.1 with maxConnections 1 and maxPendingRequests 1 ⇒ one in flight, one waiting, the rest overflow', async () => {
  const r = rig({ maxConnections: 1, maxPendingRequests: 1 });
  const pool = r.pool();
  const first = await pool.acquire(never);
  const second = outcome(pool.acquire(never));
  const third = outcome(pool.acquire(never));
  await settle();
  assert.equal(second.done, false, 'queued: no second connection over maxConnections');
  assert.ok(isMeshError(third.error, 'UPSTREAM_OVERFLOW'));
  assert.deepEqual(r.overflows, ['connections', 'pending']);
  assert.equal(r.conns.length, 1);
  first.done();
  await settle();
  assert.equal(second.value?.conn, first.conn, 'the pending request gets the freed connection');
  assert.equal(r.breaker.count('pending'), 0);
});

test('pool: over maxConnections, an endpoint without any connection still gets one', async () => {
  const r = rig({ maxConnections: 1 });
  const elsewhere = r.pool();
  await elsewhere.acquire(never);
  const pool = r.pool();
  const l = await pool.acquire(never);
  assert.ok(l.conn);
  assert.equal(r.breaker.count('connections'), 2);
  assert.deepEqual(r.overflows, ['connections']);
});

test('pool: maxRequestsPerConnection closes a connection after N streams; the next gets a new one', async () => {
  const r = rig({ maxRequestsPerConnection: 2 });
  const pool = r.pool();
  const seen = new Set<FakeConn>();
  for (let i = 0; i < 5; i++) {
    const l = await pool.acquire(never);
    seen.add(l.conn);
    l.done();
  }
  assert.equal(seen.size, 3);
  assert.deepEqual(r.closed, ['max_requests', 'max_requests']);
  // HTTP/2: streams keep running on a spent connection; it closes when the last ends.
  const h2 = rig({ maxRequestsPerConnection: 2 });
  const p2 = h2.pool({ capacity: 100 });
  const [a, b] = [await p2.acquire(never), await p2.acquire(never)];
  const c = await p2.acquire(never);
  assert.equal(a.conn, b.conn);
  assert.notEqual(c.conn, a.conn);
  a.done();
  assert.equal(a.conn.closed, false);
  b.done();
  assert.equal(a.conn.closed, true);
});

test('pool: an idle connection closes after the idle timeout, a busy one never', async () => {
  const r = rig();
  const pool = r.pool({ idleTimeoutMs: 30 });
  const l = await pool.acquire(never);
  await new Promise((res) => setTimeout(res, 80));
  assert.equal(l.conn.closed, false, 'busy');
  l.done();
  const deadline = Date.now() + 5000;
  while (!l.conn.closed && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(r.closed, ['idle_timeout']);
  assert.equal(r.breaker.count('connections'), 0);
});

test('pool: the idle timeout counts from the end of the last stream, whatever ran before', async () => {
  const r = rig();
  const pool = r.pool({ idleTimeoutMs: 100 });
  const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
  const first = await pool.acquire(never);
  first.done();
  await sleep(60);
  // Reused before the timeout, then busy past the point the first idle period would have ended.
  const second = await pool.acquire(never);
  assert.equal(second.conn, first.conn, 'the idle connection is reused');
  await sleep(100);
  assert.equal(second.conn.closed, false, 'busy: not closed by the earlier idle period');
  second.done();
  const idleFrom = Date.now();
  await sleep(50);
  assert.equal(second.conn.closed, false, 'idle for less than the timeout');
  const deadline = Date.now() + 5000;
  while (!second.conn.closed && Date.now() < deadline) await sleep(10);
  assert.deepEqual(r.closed, ['idle_timeout']);
  assert.ok(Date.now() - idleFrom >= 95, 'closed one idle timeout after its last stream');
});

test('pool: a connect failure fails every pending stream; a later request connects again', async () => {
  const r = rig();
  const pool = r.pool({ autoConnect: false });
  const a = outcome(pool.acquire(never));
  const b = outcome(pool.acquire(never));
  await settle();
  assert.equal(r.connecting.length, 2);
  r.connecting[0]!.fail(new Error('refused'));
  await settle();
  assert.equal((a.error as Error).message, 'refused');
  assert.equal((b.error as Error).message, 'refused');
  assert.equal(r.breaker.count('pending'), 0);
  r.connecting[1]!.ok();
  await settle();
  const c = outcome(pool.acquire(never));
  await settle();
  assert.ok(c.value, 'the connection that did come up serves the next request');
});

test('pool: a request cancelled while pending leaves the queue', async () => {
  const r = rig({ maxConnections: 1 });
  const pool = r.pool();
  const busy = await pool.acquire(never);
  const ac = new AbortController();
  const p = outcome(pool.acquire(ac.signal));
  await settle();
  assert.equal(r.breaker.count('pending'), 1);
  ac.abort();
  await settle();
  assert.ok(isMeshError(p.error, 'DRAINING'));
  assert.equal(r.breaker.count('pending'), 0);
  busy.done();
});

test('pool: a peer close frees the connection and ends its streams', async () => {
  const r = rig({ maxRequests: 1 });
  const pool = r.pool();
  const l = await pool.acquire(never);
  l.conn.end();
  assert.equal(r.breaker.count('requests'), 0);
  assert.equal(r.breaker.count('connections'), 0);
  assert.deepEqual(r.closed, ['remote']);
  assert.ok(await pool.acquire(never));
});

test('pool: close() (drain) closes idle connections now, busy ones after their stream, and takes no new stream', async () => {
  const r = rig();
  const pool = r.pool();
  const [a, b] = [await pool.acquire(never), await pool.acquire(never)];
  b.done();
  pool.close();
  assert.equal(b.conn.closed, true);
  assert.equal(a.conn.closed, false);
  await assert.rejects(pool.acquire(never), (e: unknown) => isMeshError(e, 'DRAINING'));
  a.done();
  assert.equal(a.conn.closed, true);
  assert.ok(pool.idle);
  assert.deepEqual(r.closed, ['drained', 'drained']);
});
