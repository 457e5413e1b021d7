// Waypoint locality-aware LB over real HBONE endpoints: with outlier detection, traffic stays in
// the waypoint's region/zone/subzone and fails over level by level when local endpoints are ejected
// or unhealthy; failover rules and failoverPriority labels order the levels; distribute splits by weight.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Locality } from '../../src/state/index.js';
import { seeded, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { concurrently, configure, dumpedCluster, editWorkloads, tally, uidOf } from '../helpers/waypoint-upstream.js';

const loc = (region: string, zone = '', subzone = ''): Locality => ({ region, zone, subzone });

describe('waypoint upstream locality failover', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig({
      random: seeded(5),
      extra: ['e1', 'e2'],
      locality: loc('us-east', 'us-east-1a', 'rack1'),
      localities: { v1: loc('us-east', 'us-east-1a', 'rack1'), v2: loc('us-east', 'us-east-1b'), e1: loc('eu-west', 'eu-west-1a'), e2: loc('ap-south', 'ap-south-1a') },
    });
  });
  after(async () => rig.close());

  const OUTLIER = { consecutive5xxErrors: 1, intervalMs: 100, baseEjectionTimeMs: 60_000, maxEjectionPercent: 100 };
  const spread = async (path: string, n = 16): Promise<Record<string, number>> =>
    tally(await concurrently(n, 4, async () => {
      const r = await rig.request({ path });
      assert.equal(r.status, 200, r.body);
      return r.headers['x-backend'] as string;
    }));
  /** Requests until `name` answered one error (and is thereby ejected with consecutive5xxErrors 1). */
  async function eject(cluster: string, name: string, path: string): Promise<void> {
    for (let i = 0; i < 40; i++) {
      if ((dumpedCluster(rig, cluster).endpoints.find((e) => e.uid === uidOf(`reviews-${name}`))?.outlier as { ejected?: boolean } | undefined)?.ejected) return;
      await rig.request({ path });
    }
    assert.fail(`${name} not ejected`);
  }

  it('prefers the waypoint’s own subzone, then zone, then region, then the other regions', async () => {
    const { http } = configure(rig, { subset: 'levels', http: { lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER } });
    assert.deepEqual(await spread('/l'), { v1: 16 });
    const priorities = Object.fromEntries(dumpedCluster(rig, http).endpoints.map((e) => [String(e.workload).split('/reviews-')[1], e.priority]));
    assert.deepEqual(priorities, { v1: 0, v2: 1, e1: 2, e2: 2 });
    await eject(http, 'v1', '/l?status-v1=503');
    assert.deepEqual(await spread('/l'), { v2: 16 });
    await eject(http, 'v2', '/l?status-v2=503');
    const remote = await spread('/l', 24);
    assert.deepEqual(Object.keys(remote).sort(), ['e1', 'e2'], JSON.stringify(remote));
  });

  it('a failover rule from our region sends traffic to its `to` region first', async () => {
    const { http } = configure(rig, { subset: 'failover', http: { lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER, localityLb: { failover: [{ from: 'us-east', to: 'ap-south' }] } } });
    await eject(http, 'v1', '/f?status-v1=503');
    await eject(http, 'v2', '/f?status-v2=503');
    assert.deepEqual(await spread('/f'), { e2: 16 });
  });

  it('failoverPriority labels: endpoints sharing the waypoint’s region come first', async () => {
    const { http } = configure(rig, { subset: 'labels', http: { lb: { kind: 'ROUND_ROBIN' }, outlierDetection: OUTLIER, localityLb: { failoverPriority: ['topology.kubernetes.io/region'] } } });
    assert.deepEqual(await spread('/fp'), { v1: 8, v2: 8 });
    assert.deepEqual(Object.fromEntries(dumpedCluster(rig, http).endpoints.map((e) => [String(e.workload).split('/reviews-')[1], e.priority])), { v1: 0, v2: 0, e1: 1, e2: 1 });
  });

  it('distribute: traffic split over the named localities by weight, none to the others (no outlier detection needed)', async () => {
    const { http } = configure(rig, { subset: 'distribute', http: { lb: { kind: 'RANDOM' }, localityLb: { distribute: [{ from: 'us-east/us-east-1a/*', to: { 'us-east/us-east-1a': 50, 'eu-west': 50 } }] } } });
    const t = await spread('/dist', 60);
    assert.deepEqual(Object.keys(t).sort(), ['e1', 'v1']);
    assert.ok(t.v1! >= 18 && t.e1! >= 18, JSON.stringify(t));
    const dumped = dumpedCluster(rig, http);
    assert.equal(dumped.localityMode, 'distribute');
    assert.deepEqual(Object.fromEntries(dumped.endpoints.map((e) => [String(e.workload).split('/reviews-')[1], e.localityWeight])), { v1: 50, v2: 0, e1: 50, e2: 0 });
  });

  it('unhealthy local endpoints fail over too; healthy again, traffic comes back', async () => {
    configure(rig, { subset: 'unhealthy', http: { lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER } });
    editWorkloads(rig, (w) => (w.uid === uidOf('reviews-v1') ? { ...w, status: 'Unhealthy' } : w));
    assert.deepEqual(await spread('/u'), { v2: 16 });
    editWorkloads(rig, (w) => (w.uid === uidOf('reviews-v1') ? { ...w, status: 'Healthy' } : w));
    assert.deepEqual(await spread('/u'), { v1: 16 });
  });

  it('without outlier detection (or with localityLb disabled) every locality shares the traffic', async () => {
    configure(rig, { subset: 'flat', http: { lb: { kind: 'ROUND_ROBIN' } } });
    assert.deepEqual(await spread('/n'), { v1: 4, v2: 4, e1: 4, e2: 4 });
    configure(rig, { subset: 'disabled', http: { lb: { kind: 'ROUND_ROBIN' }, outlierDetection: OUTLIER, localityLb: { enabled: false } } });
    assert.deepEqual(await spread('/n'), { v1: 4, v2: 4, e1: 4, e2: 4 });
  });
});
