// Upstream connection pooling of the waypoint over real HBONE endpoints: keep-alive reuse, the idle
// timeout (DestinationRule connectionPool.http.idleTimeout) never cutting a busy connection,
// connections to endpoints that left the mesh state or clusters that left the config closed, and
// connections the endpoint closes (its keep-alive timeout, a close before answering) never reused.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { H2_PORT, VIP, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { configure, dumpedCluster, editWorkloads, metric, uidOf, until } from '../helpers/waypoint-upstream.js';

/** `p`, or a failure after `ms`: a request the waypoint never answers fails the test instead of hanging it. */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  })]).finally(() => clearTimeout(t));
}

describe('waypoint upstream connection pool', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig();
  });
  after(async () => rig.close());

  const connOf = async (path: string): Promise<string> => {
    const start = rig.hits.length;
    const r = await rig.request({ path });
    assert.equal(r.status, 200);
    return rig.hits.slice(start).find((h) => h.url === path)!.conn;
  };
  const closed = (cluster: string, reason: string): Promise<number> => metric(rig, 'ambit_waypoint_upstream_connections_closed_total', { cluster, reason });
  const onlyV1 = { workloadUids: [uidOf('reviews-v1')] };

  it('keeps an idle connection for the next request (default idle timeout 1 h)', async () => {
    configure(rig, { subset: 'keep', http: onlyV1 });
    const a = await connOf('/keep-1');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await connOf('/keep-2'), a);
  });

  it('an upstream closing an idle keep-alive connection (its FIN relayed as END_STREAM): the connection leaves the pool, the next request gets a new one', async () => {
    const { http } = configure(rig, { subset: 'remote-close', http: onlyV1 });
    const a = await connOf('/remote-close-1?close-idle=100');
    await until(async () => (await closed(http, 'remote')) === 1, 5000, 'the pool saw the upstream close');
    assert.equal((dumpedCluster(rig, http).connectionPool as { connections: number }).connections, 0);
    // Before the fix the request went into the half-closed stream and was never answered.
    const t0 = Date.now();
    const b = await connOf('/remote-close-2');
    assert.notEqual(b, a, 'a new connection');
    assert.ok(Date.now() - t0 < 2000, `answered after ${Date.now() - t0} ms`);
  });

  it('closes a connection idle past idleTimeoutMs, but not one busy for longer', async () => {
    const { http } = configure(rig, { subset: 'idle', http: { ...onlyV1, idleTimeoutMs: 200 } });
    const slow = await rig.request({ path: '/idle-slow?delay=600' });
    assert.equal(slow.status, 200, 'a request longer than the idle timeout completes');
    assert.equal(await closed(http, 'idle_timeout'), 0);
    const a = await connOf('/idle-1');
    await until(async () => (await closed(http, 'idle_timeout')) === 1, 5000, 'the idle connection closed');
    assert.equal((dumpedCluster(rig, http).connectionPool as { connections: number }).connections, 0);
    assert.notEqual(await connOf('/idle-2'), a, 'a new connection after the idle close');
  });

  it('closes idle connections to an endpoint that left the mesh state, and to a cluster that left the config', async () => {
    const { http } = configure(rig, { subset: 'leave', http: { lb: { kind: 'ROUND_ROBIN' } } });
    await connOf('/leave-1');
    await connOf('/leave-2');
    assert.equal((dumpedCluster(rig, http).connectionPool as { connections: number }).connections, 2);
    const snapshot = rig.state.snapshot();
    editWorkloads(rig, (w) => (w.uid === uidOf('reviews-v2') ? undefined : w));
    await until(async () => (await closed(http, 'drained')) === 1, 5000, 'the connection to v2 closed');
    assert.equal((dumpedCluster(rig, http).connectionPool as { connections: number }).connections, 1);
    rig.state.apply(snapshot);
    configure(rig, { subset: 'other' });
    await until(async () => (await closed(http, 'drained')) === 2, 5000, 'the cluster’s last connection closed');
  });

  const send = (path: string, authority?: string): Promise<{ status: number; body: string; conn: string | undefined }> => {
    const start = rig.hits.length;
    return within(8000, rig.request({ path, ...(authority ? { authority } : {}) }), path).then((r) => ({
      status: r.status,
      body: r.body,
      conn: rig.hits.slice(start).find((h) => h.url === path)?.conn,
    }));
  };
  const poolOf = (cluster: string): { connections: number } => dumpedCluster(rig, cluster).connectionPool as { connections: number };

  it('HTTP/1.1: the endpoint closes a reused connection instead of answering ⇒ 503 UC at once (Envoy, default retry policy), then a new connection', async () => {
    const { http } = configure(rig, { subset: 'race', http: onlyV1 });
    const a = await send('/race-1');
    assert.equal(a.status, 200);
    const uc = await metric(rig, 'istio_requests_total', { response_flags: 'UC' });
    const t0 = Date.now();
    const r = await send('/race-2?close');
    assert.equal(r.status, 503);
    assert.ok(Date.now() - t0 < 3000, 'failed at once, not after a timeout');
    assert.equal(await metric(rig, 'istio_requests_total', { response_flags: 'UC' }), uc + 1);
    await until(() => poolOf(http).connections === 0, 5000, 'the closed connection left the pool');
    const b = await send('/race-3');
    assert.equal(b.status, 200);
    assert.notEqual(b.conn, a.conn);
  });

  it('HTTP/1.1: with retryOn reset the request closed on is retried on another endpoint', async () => {
    configure(rig, { subset: 'race-retry', http: { lb: { kind: 'ROUND_ROBIN' } }, route: { retry: { attempts: 1, codes: [], retryOn: ['reset'], backoffMs: 10 } } });
    // Warm both endpoints' pools so the close hits a reused connection.
    await send('/rr-1');
    await send('/rr-2');
    const r = await send('/rr-3?close-v1');
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { who: string }).who, 'v2');
  });

  it('HTTP/2: a session whose transport the endpoint closes without GOAWAY is dropped: the stream fails 503, the next request opens a new session', async () => {
    const { h2 } = configure(rig, { subset: 'h2-close', h2: onlyV1 });
    const authority = `${VIP}:${H2_PORT}`;
    const a = await send('/h2-close-1', authority);
    assert.equal(a.status, 200);
    const r = await send('/h2-close-2?close', authority);
    assert.equal(r.status, 503);
    await until(() => poolOf(h2).connections === 0, 5000, 'the session left the pool');
    const b = await send('/h2-close-3', authority);
    assert.equal(b.status, 200);
    assert.notEqual(b.conn, a.conn);
  });
});

describe('waypoint upstream connections the endpoint closes while idle', () => {
  // Node's HTTP server closes a keep-alive connection idle for keepAliveTimeout (5 s by default),
  // here sooner and without announcing it.
  const KEEP_ALIVE_MS = 300;
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig({ backendKeepAliveTimeoutMs: KEEP_ALIVE_MS });
  });
  after(async () => rig.close());

  const onlyV1 = { workloadUids: [uidOf('reviews-v1')] };
  const send = (path: string, authority?: string): Promise<{ status: number; conn: string | undefined }> => {
    const start = rig.hits.length;
    return within(8000, rig.request({ path, ...(authority ? { authority } : {}) }), path).then((r) => ({ status: r.status, conn: rig.hits.slice(start).find((h) => h.url === path)?.conn }));
  };
  const closed = (cluster: string, reason: string): Promise<number> => metric(rig, 'ambit_waypoint_upstream_connections_closed_total', { cluster, reason });
  const poolOf = (cluster: string): Record<string, number> => dumpedCluster(rig, cluster).connectionPool as Record<string, number>;

  it('HTTP/1.1: a pooled connection the endpoint closed while idle leaves the pool at once; the next request takes a new one', async () => {
    const { http } = configure(rig, { subset: 'ka', http: onlyV1 });
    const a = await send('/ka-1');
    assert.equal(a.status, 200);
    // The endpoint's close reaches the waypoint as the CONNECT stream's end: closed as `remote`,
    // long before the waypoint's own idle timeout (1 h).
    await until(async () => (await closed(http, 'remote')) === 1, 5000, 'the connection the endpoint closed left the pool');
    assert.deepEqual(poolOf(http), { connections: 0, busy: 0, activeStreams: 0, pending: 0 });
    const b = await send('/ka-2');
    assert.equal(b.status, 200, 'answered on a new connection, not sent into the closed one');
    assert.notEqual(b.conn, a.conn);
  });

  it('HTTP/2: a session whose transport the endpoint closed while idle (no GOAWAY) leaves the pool; the next request opens a new one', async () => {
    const { h2 } = configure(rig, { subset: 'h2-idle', h2: onlyV1 });
    const a = await send('/h2-idle-1', `${VIP}:${H2_PORT}`);
    assert.equal(a.status, 200);
    await until(async () => (await closed(h2, 'remote')) === 1, 5000, 'the session the endpoint closed left the pool');
    assert.equal(poolOf(h2).connections, 0);
    const b = await send('/h2-idle-2', `${VIP}:${H2_PORT}`);
    assert.equal(b.status, 200);
    assert.notEqual(b.conn, a.conn);
  });
});
