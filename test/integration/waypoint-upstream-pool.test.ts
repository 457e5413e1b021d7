// Upstream connection pooling of the waypoint over real HBONE endpoints: keep-alive reuse, the idle
// timeout (DestinationRule connectionPool.http.idleTimeout) never cutting a busy connection,
// connections to endpoints that left the mesh state or clusters that left the config closed, and
// an idle connection the app closed (its keep-alive timeout) dropped rather than reused.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { configure, dumpedCluster, editWorkloads, metric, uidOf, until } from '../helpers/waypoint-upstream.js';

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
});

describe('waypoint upstream connection pool, an app closing idle connections', () => {
  let rig: WaypointRig;
  before(async () => {
    // Node's HTTP server closes a keep-alive connection idle for keepAliveTimeout (default 5 s).
    rig = await startWaypointRig({ backendKeepAliveTimeoutMs: 150 });
  });
  after(async () => rig.close());

  it('drops a connection the app ended while idle; the next request gets a new one and its answer', async () => {
    const { http } = configure(rig, { subset: 'ka', http: { workloadUids: [uidOf('reviews-v1')] } });
    const conn = async (path: string): Promise<string> => {
      const start = rig.hits.length;
      // Without the fix the request went out on the dead connection and was never answered.
      const r = await Promise.race([rig.request({ path }), new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${path}: no answer within 3 s`)), 3000))]);
      assert.equal(r.status, 200);
      return rig.hits.slice(start).find((h) => h.url === path)!.conn;
    };
    const first = await conn('/ka-1');
    await until(async () => (await metric(rig, 'ambit_waypoint_upstream_connections_closed_total', { cluster: http, reason: 'remote' })) === 1, 5000, 'the pool saw the app close the connection');
    assert.equal((dumpedCluster(rig, http).connectionPool as { connections: number }).connections, 0);
    assert.notEqual(await conn('/ka-2'), first, 'a new connection');
    // And again, after the app closed that one too.
    await until(async () => (await metric(rig, 'ambit_waypoint_upstream_connections_closed_total', { cluster: http, reason: 'remote' })) === 2, 5000, 'the second close seen');
    assert.equal((await rig.request({ path: '/ka-3' })).status, 200);
  });
});
