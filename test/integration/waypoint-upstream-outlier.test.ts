// Waypoint outlier detection over real HBONE endpoints: an endpoint answering 5xx is ejected after
// N consecutive errors, traffic goes to the others, it returns after the ejection time (twice as
// long the second time), maxEjectionPercent holds, connect failures count; /config_dump and metrics show it.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { seeded, startWaypointRig, workload, NS, HOST, type WaypointRig } from '../helpers/waypoint-rig.js';
import { configure, dumpedCluster, metric, tally, uidOf, until } from '../helpers/waypoint-upstream.js';

describe('waypoint upstream outlier detection', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig({ random: seeded(3), extra: ['e1'] });
  });
  after(async () => rig.close());

  const status = async (path: string): Promise<{ status: number; who: string | undefined }> => {
    const r = await rig.request({ path });
    return { status: r.status, who: r.headers['x-backend'] as string | undefined };
  };
  const outlierOf = (cluster: string, name: string): Record<string, unknown> | undefined =>
    dumpedCluster(rig, cluster).endpoints.find((e) => e.uid === uidOf(name))?.outlier as Record<string, unknown> | undefined;

  it('an endpoint answering 503 is ejected after 3 consecutive errors, the other takes the traffic, it returns after the ejection time', async () => {
    const { http } = configure(rig, {
      subset: 'eject',
      http: { workloadUids: [uidOf('reviews-v1'), uidOf('reviews-v2')], outlierDetection: { consecutive5xxErrors: 3, intervalMs: 50, baseEjectionTimeMs: 1000, maxEjectionPercent: 50 } },
    });
    const path = '/o?status-v1=503';
    const seq: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await status(path);
      seq.push(`${r.who}:${r.status}`);
    }
    assert.deepEqual(seq, ['v1:503', 'v2:200', 'v1:503', 'v2:200', 'v1:503']);
    const ejectedAt = Date.now();
    assert.equal(outlierOf(http, 'reviews-v1')?.ejected, true);
    assert.equal(outlierOf(http, 'reviews-v1')?.numEjections, 1);
    assert.equal(outlierOf(http, 'reviews-v2')?.ejected, false);
    assert.equal(await metric(rig, 'ambit_waypoint_outlier_ejections_total', { cluster: http, type: 'consecutive_5xx' }), 1);
    assert.equal(await metric(rig, 'ambit_waypoint_outlier_ejections_active', { cluster: http }), 1);
    // Ejected: every request goes to v2 and succeeds.
    const during: string[] = [];
    for (let i = 0; i < 6; i++) during.push(`${(await status(path)).who}`);
    assert.deepEqual(tally(during), { v2: 6 });
    // Back after the base ejection time (at the next interval sweep).
    await until(() => outlierOf(http, 'reviews-v1')?.ejected === false, 5000, 'v1 returns');
    assert.ok(Date.now() - ejectedAt >= 950, `returned after ${Date.now() - ejectedAt} ms`);
    assert.equal(await metric(rig, 'ambit_waypoint_outlier_ejections_active', { cluster: http }), 0);
    // Still failing: ejected again after three more errors, now for twice the base time.
    const again: string[] = [];
    for (let i = 0; i < 6 && outlierOf(http, 'reviews-v1')?.ejected !== true; i++) again.push(`${(await status(path)).who}`);
    assert.equal(again.filter((w) => w === 'v1').length, 3);
    const second = outlierOf(http, 'reviews-v1')!;
    assert.deepEqual({ ejected: second.ejected, n: second.numEjections, ms: second.ejectionTimeMs }, { ejected: true, n: 2, ms: 2000 });
    assert.equal(await metric(rig, 'ambit_waypoint_outlier_ejections_total', { cluster: http }), 2);
  });

  it('maxEjectionPercent 34 of 3 failing endpoints: one ejected, the others keep serving', async () => {
    const { http } = configure(rig, {
      subset: 'percent',
      http: { workloadUids: [uidOf('reviews-v1'), uidOf('reviews-v2'), uidOf('reviews-e1')], outlierDetection: { consecutive5xxErrors: 2, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 34 } },
    });
    for (let i = 0; i < 12; i++) assert.equal((await status('/p?status-v1=503&status-v2=503&status-e1=503')).status, 503);
    const ejected = dumpedCluster(rig, http).endpoints.filter((e) => (e.outlier as { ejected: boolean }).ejected);
    assert.equal(ejected.length, 1);
    assert.equal(await metric(rig, 'ambit_waypoint_outlier_ejections_active', { cluster: http }), 1);
    assert.ok((await metric(rig, 'ambit_waypoint_outlier_ejections_overflow_total', { cluster: http })) >= 1);
    const served = tally(await Promise.all(Array.from({ length: 8 }, async () => (await status('/p')).who)));
    assert.equal(Object.keys(served).length, 2);
    assert.equal(served[String(ejected[0]!.workload).replace(`${NS}/reviews-`, '')], undefined, 'the ejected endpoint gets nothing');
  });

  it('connect failures count: a dead endpoint is ejected while retries on the others hide it from clients', async () => {
    const deadIp = `${rig.ips.prefix}.60`;
    const snapshot = rig.state.snapshot();
    const ports = new Map([[80, 8080], [81, 9090], [82, 7070]]);
    rig.state.apply({ ...snapshot, workloads: [...snapshot.workloads, workload({ name: 'reviews-dead', ip: deadIp, sa: 'reviews', services: new Map([[`${NS}/${HOST}`, ports]]) })] });
    try {
      const { http } = configure(rig, {
        subset: 'dead',
        http: { lb: { kind: 'ROUND_ROBIN' }, workloadUids: [uidOf('reviews-v1'), uidOf('reviews-dead')], outlierDetection: { consecutive5xxErrors: 2, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 } },
      });
      const results = [];
      for (let i = 0; i < 8; i++) results.push(await status('/dead'));
      assert.deepEqual(tally(results.map((r) => `${r.who}:${r.status}`)), { 'v1:200': 8 });
      assert.equal(outlierOf(http, 'reviews-dead')?.ejected, true);
      assert.equal(await metric(rig, 'ambit_waypoint_upstream_connect_failures_total', { cluster: http }), 2, 'two connect failures, then no more attempts');
    } finally {
      rig.state.apply(snapshot);
    }
  });
});
