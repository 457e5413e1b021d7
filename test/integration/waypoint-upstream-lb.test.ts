// Waypoint load balancing over real HBONE endpoints: ROUND_ROBIN alternates, RANDOM spreads,
// LEAST_REQUEST sends fewer requests to a slow endpoint, only Healthy workloads get traffic, and
// the endpoint set follows the mesh state without dropping requests in flight.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CLUSTER, seeded, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { concurrently, configure, dumpedCluster, editWorkloads, metric, tally, uidOf, until } from '../helpers/waypoint-upstream.js';

describe('waypoint upstream load balancing', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig({ random: seeded(42) });
  });
  after(async () => rig.close());

  const who = async (path: string): Promise<string | undefined> => {
    const r = await rig.request({ path });
    assert.equal(r.status, 200, r.body);
    return r.headers['x-backend'] as string | undefined;
  };

  it('ROUND_ROBIN alternates between the two endpoints', async () => {
    configure(rig, { http: { lb: { kind: 'ROUND_ROBIN' } } });
    const seq: Array<string | undefined> = [];
    for (let i = 0; i < 8; i++) seq.push(await who('/rr'));
    assert.deepEqual(tally(seq), { v1: 4, v2: 4 });
    for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1]);
  });

  it('RANDOM spreads requests over both endpoints', async () => {
    configure(rig, { http: { lb: { kind: 'RANDOM' } } });
    const t = tally(await concurrently(60, 6, () => who('/random')));
    assert.ok(t.v1! >= 15 && t.v2! >= 15, JSON.stringify(t));
  });

  it('LEAST_REQUEST sends fewer requests to the slow endpoint under concurrency', async () => {
    configure(rig, { http: { lb: { kind: 'LEAST_REQUEST' } } });
    const t = tally(await concurrently(48, 8, () => who('/lr?delay-v1=250')));
    assert.ok(t.v2! > 2 * (t.v1 ?? 0), `slow v1 got ${t.v1}, fast v2 ${t.v2}`);
  });

  it('an Unhealthy workload gets no traffic; back to Healthy, it does again', async () => {
    configure(rig, { http: { lb: { kind: 'ROUND_ROBIN' } } });
    editWorkloads(rig, (w) => (w.uid === uidOf('reviews-v1') ? { ...w, status: 'Unhealthy' } : w));
    assert.deepEqual(tally(await concurrently(10, 2, () => who('/health'))), { v2: 10 });
    assert.equal(dumpedCluster(rig).endpoints.find((e) => e.uid === uidOf('reviews-v1'))?.health, 'UNHEALTHY');
    editWorkloads(rig, (w) => (w.uid === uidOf('reviews-v1') ? { ...w, status: 'Healthy' } : w));
    assert.deepEqual(tally(await concurrently(10, 1, () => who('/health'))), { v1: 5, v2: 5 });
  });

  it('an endpoint leaving the mesh state finishes its requests in flight, gets no new ones, and its connections close', async () => {
    configure(rig, { http: { lb: { kind: 'ROUND_ROBIN' } } });
    const snapshot = rig.state.snapshot();
    const closedBefore = await metric(rig, 'ambit_waypoint_upstream_connections_closed_total', { cluster: DEFAULT_CLUSTER, reason: 'drained' });
    const slow = Array.from({ length: 4 }, () => rig.request({ path: '/inflight?delay=600' }));
    const start = rig.hits.length;
    await until(() => rig.hits.slice(start).filter((h) => h.url.startsWith('/inflight')).length === 4, 10_000, 'four requests at the backends');
    assert.deepEqual(tally(rig.hits.slice(start).filter((h) => h.url.startsWith('/inflight')).map((h) => h.who)), { v1: 2, v2: 2 });
    editWorkloads(rig, (w) => (w.uid === uidOf('reviews-v2') ? undefined : w));
    assert.deepEqual(tally(await concurrently(6, 3, () => who('/after'))), { v1: 6 });
    const done = await Promise.all(slow);
    assert.deepEqual(done.map((r) => r.status), [200, 200, 200, 200]);
    assert.deepEqual(tally(done.map((r) => r.headers['x-backend'] as string)), { v1: 2, v2: 2 });
    // The two connections to v2 closed once their requests were done (Envoy drains a removed host).
    await until(async () => (await metric(rig, 'ambit_waypoint_upstream_connections_closed_total', { cluster: DEFAULT_CLUSTER, reason: 'drained' })) >= closedBefore + 2, 5000, 'drained connections');
    assert.deepEqual(dumpedCluster(rig).endpoints.map((e) => e.uid), [uidOf('reviews-v1')]);
    rig.state.apply(snapshot);
    assert.deepEqual(tally(await concurrently(4, 1, () => who('/back'))), { v1: 2, v2: 2 });
  });
});
