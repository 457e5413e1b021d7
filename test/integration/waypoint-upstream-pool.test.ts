// Upstream connection pooling of the waypoint over real HBONE endpoints: keep-alive reuse, the idle
// timeout (DestinationRule connectionPool.http.idleTimeout) never cutting a busy connection, and
// connections to endpoints that left the mesh state or clusters that left the config closed.

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
});
