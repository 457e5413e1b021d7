// Locality failover: Istio's priorities relative to the waypoint's locality (with failover
// rules), Envoy's priority load with the 1.4 overprovisioning factor, and the load balancer
// applying them only to clusters with outlier detection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Locality } from '../../src/state/index.js';
import { LoadBalancer } from '../../src/waypoint/load-balancer.js';
import { choosePriority, priorityLevels, priorityLoads, rawPriority } from '../../src/waypoint/locality.js';
import type { Cluster } from '../../src/waypoint/model/route-model.js';
import { cluster, endpoint, seeded } from '../helpers/upstream-endpoints.js';

const loc = (region: string, zone = '', subzone = ''): Locality => ({ region, zone, subzone });
const SELF = loc('us-east', 'us-east-1a', 'rack1');

test('priority by locality: subzone 0, zone 1, region 2, elsewhere 3; a failover rule puts other regions at 4', () => {
  const cases: Array<{ ep: Locality; failover?: { from: string; to: string }[]; want: number }> = [
    { ep: loc('us-east', 'us-east-1a', 'rack1'), want: 0 },
    { ep: loc('us-east', 'us-east-1a', 'rack2'), want: 1 },
    { ep: loc('us-east', 'us-east-1b', 'rack1'), want: 2 },
    { ep: loc('eu-west', 'us-east-1a', 'rack1'), want: 3 },
    { ep: loc('eu-west'), failover: [{ from: 'us-east', to: 'eu-west' }], want: 3 },
    { ep: loc('ap-south'), failover: [{ from: 'us-east', to: 'eu-west' }], want: 4 },
    // Only the first rule for our region counts; rules for other regions are ignored.
    { ep: loc('ap-south'), failover: [{ from: 'us-west', to: 'ap-south' }], want: 3 },
    { ep: loc('ap-south'), failover: [{ from: 'us-east', to: 'eu-west' }, { from: 'us-east', to: 'ap-south' }], want: 4 },
    { ep: loc('us-east', 'us-east-1a', 'rack1'), failover: [{ from: 'us-east', to: 'eu-west' }], want: 0 },
  ];
  for (const c of cases) assert.equal(rawPriority(SELF, c.ep, c.failover), c.want, JSON.stringify(c));
});

test('levels are renumbered without gaps, in priority order', () => {
  const eps = [endpoint(0, { locality: loc('eu-west') }), endpoint(1, { locality: SELF }), endpoint(2, { locality: loc('us-east', 'us-east-1b') }), endpoint(3, { locality: SELF })];
  const levels = priorityLevels(SELF, eps, (e) => e.workload.locality, undefined);
  assert.deepEqual(levels.map((l) => l.map((e) => e.workload.name)), [['ep-1', 'ep-3'], ['ep-2'], ['ep-0']]);
});

test("Envoy's priority load: health = min(100, 140·usable/total), spilled in order, normalized", () => {
  const cases: Array<{ usable: number[]; total: number[]; want: number[] }> = [
    { usable: [2], total: [2], want: [100] },
    { usable: [2, 1], total: [2, 1], want: [100, 0] },
    { usable: [4, 1], total: [5, 1], want: [100, 0] }, // 80 % ⇒ 112 % ⇒ still all
    { usable: [1, 1], total: [2, 1], want: [70, 30] },
    { usable: [0, 1], total: [1, 1], want: [0, 100] },
    { usable: [1, 0, 1], total: [4, 1, 1], want: [35, 0, 65] },
    { usable: [1, 1], total: [10, 10], want: [50, 50] }, // 14 + 14 < 100: scaled up
    { usable: [0, 0], total: [1, 2], want: [0, 0] },
    { usable: [1, 2, 3], total: [3, 3, 3], want: [46, 54, 0] },
  ];
  for (const c of cases) {
    const got = priorityLoads(c.usable, c.total);
    assert.deepEqual(got, c.want, JSON.stringify(c));
    if (c.want.some((x) => x > 0)) assert.equal(got.reduce((a, b) => a + b), 100);
  }
  assert.equal(choosePriority([70, 30], 0), 0);
  assert.equal(choosePriority([70, 30], 69), 0);
  assert.equal(choosePriority([70, 30], 70), 1);
  assert.equal(choosePriority([0, 100], 5), 1);
  assert.equal(choosePriority([70, 30], 169), 0);
  assert.equal(choosePriority([70, 30], 170), 1);
});

const OUTLIER = { intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100 };

function shares(lb: LoadBalancer, c: Cluster, eps: ReturnType<typeof endpoint>[], n = 1000): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const e = lb.pick(c, eps, { headers: new Map(), query: '', sourceIp: '10.0.0.1' })!;
    out[e.workload.name] = (out[e.workload.name] ?? 0) + 1;
  }
  return out;
}

test('with outlier detection, traffic stays local and fails over level by level', () => {
  const ejected = new Set<string>();
  const lb = new LoadBalancer(seeded(8), { health: { ejected: (_c, k) => ejected.has(k) }, locality: () => SELF });
  const eps = [
    endpoint(0, { locality: SELF }),
    endpoint(1, { locality: SELF }),
    endpoint(2, { locality: loc('us-east', 'us-east-1b') }),
    endpoint(3, { locality: loc('eu-west') }),
    endpoint(4, { locality: loc('ap-south') }),
  ];
  const c = cluster({ lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER });
  assert.deepEqual(Object.keys(shares(lb, c, eps)).sort(), ['ep-0', 'ep-1']);
  // Half the local level ejected: 70 % stays, 30 % goes to the next level.
  ejected.add(eps[0]!.key);
  const half = shares(lb, c, eps, 2000);
  assert.ok(Math.abs(half['ep-1']! - 1400) < 120 && Math.abs(half['ep-2']! - 600) < 120, JSON.stringify(half));
  ejected.add(eps[1]!.key);
  assert.deepEqual(Object.keys(shares(lb, c, eps)), ['ep-2']);
  ejected.add(eps[2]!.key);
  // Other regions share a level without failover rules; with one, its `to` region comes first.
  assert.deepEqual(Object.keys(shares(lb, c, eps)).sort(), ['ep-3', 'ep-4']);
  const withRule = cluster({ lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER, localityLbSetting: { failover: [{ from: 'us-east', to: 'ap-south' }] } });
  assert.deepEqual(Object.keys(shares(lb, withRule, eps)), ['ep-4']);
  assert.deepEqual(lb.priorities(withRule, eps), new Map(eps.map((e, i) => [e.key, [0, 0, 1, 3, 2][i]!])));
});

test('unhealthy endpoints fail over like ejected ones', () => {
  const lb = new LoadBalancer(seeded(8), { locality: () => SELF });
  const eps = [endpoint(0, { locality: SELF, healthy: false }), endpoint(1, { locality: loc('eu-west') })];
  assert.deepEqual(Object.keys(shares(lb, cluster({ outlierDetection: OUTLIER }), eps, 50)), ['ep-1']);
});

test('no locality priorities without outlier detection, with localityLbSetting disabled, or with no own locality', () => {
  const eps = [endpoint(0, { locality: SELF }), endpoint(1, { locality: loc('eu-west') })];
  const cases: Array<{ c: Cluster; self: Locality | undefined }> = [
    { c: cluster({ lb: { kind: 'RANDOM' } }), self: SELF },
    { c: cluster({ lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER, localityLbSetting: { enabled: false } }), self: SELF },
    { c: cluster({ lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER }), self: undefined },
  ];
  for (const { c, self } of cases) {
    const lb = new LoadBalancer(seeded(1), { locality: () => self });
    const s = shares(lb, c, eps);
    assert.ok(s['ep-0']! > 400 && s['ep-1']! > 400, JSON.stringify(s));
  }
});

test('consistent hashing picks the level by the key too: a key sticks while its level is healthy', () => {
  const ejected = new Set<string>();
  const lb = new LoadBalancer(seeded(8), { health: { ejected: (_c, k) => ejected.has(k) }, locality: () => SELF });
  const eps = [endpoint(0, { locality: SELF }), endpoint(1, { locality: SELF }), endpoint(2, { locality: loc('eu-west') })];
  const c = cluster({ lb: { kind: 'CONSISTENT_HASH', key: { header: 'x-user' } }, outlierDetection: OUTLIER });
  const pick = (u: string): string => lb.pick(c, eps, { headers: new Map([['x-user', [u]]]), query: '', sourceIp: '' })!.workload.name;
  const before = Array.from({ length: 50 }, (_, i) => pick(`u${i}`));
  assert.ok(before.every((n) => n !== 'ep-2'));
  assert.deepEqual(Array.from({ length: 50 }, (_, i) => pick(`u${i}`)), before);
  ejected.add(eps[0]!.key).add(eps[1]!.key);
  assert.ok(Array.from({ length: 50 }, (_, i) => pick(`u${i}`)).every((n) => n === 'ep-2'));
});
