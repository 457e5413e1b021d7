// Locality-aware LB: Istio's priorities relative to the waypoint's locality (failover rules,
// failoverPriority labels), distribute weights, Envoy's priority load with the 1.4
// overprovisioning factor, and the load balancer applying them as Istio gates them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Locality } from '../../src/state/index.js';
import { LoadBalancer } from '../../src/waypoint/load-balancer.js';
import { chooseLocality, choosePriority, failoverPriority, localityMatch, localityPlan, priorityLevels, priorityLoads, rawPriority, type LocalitySelf } from '../../src/waypoint/locality.js';
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
  const lb = new LoadBalancer(seeded(8), { health: { ejected: (_c, k) => ejected.has(k) }, self: () => ({ locality: SELF, labels: {} }) });
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
  const withRule = cluster({ lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER, localityLb: { failover: [{ from: 'us-east', to: 'ap-south' }] } });
  assert.deepEqual(Object.keys(shares(lb, withRule, eps)), ['ep-4']);
  assert.deepEqual(lb.locality(withRule, eps).priority, new Map(eps.map((e, i) => [e.key, [0, 0, 1, 3, 2][i]!])));
});

test('unhealthy endpoints fail over like ejected ones', () => {
  const lb = new LoadBalancer(seeded(8), { self: () => ({ locality: SELF, labels: {} }) });
  const eps = [endpoint(0, { locality: SELF, healthy: false }), endpoint(1, { locality: loc('eu-west') })];
  assert.deepEqual(Object.keys(shares(lb, cluster({ outlierDetection: OUTLIER }), eps, 50)), ['ep-1']);
});

test('no locality priorities without outlier detection, with localityLb disabled, or with no own locality', () => {
  const eps = [endpoint(0, { locality: SELF }), endpoint(1, { locality: loc('eu-west') })];
  const cases: Array<{ c: Cluster; self: Locality | undefined }> = [
    { c: cluster({ lb: { kind: 'RANDOM' } }), self: SELF },
    { c: cluster({ lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER, localityLb: { enabled: false } }), self: SELF },
    { c: cluster({ lb: { kind: 'RANDOM' }, outlierDetection: OUTLIER }), self: undefined },
  ];
  for (const { c, self } of cases) {
    const lb = new LoadBalancer(seeded(1), { self: () => (self ? { locality: self, labels: {} } : undefined) });
    const s = shares(lb, c, eps);
    assert.ok(s['ep-0']! > 400 && s['ep-1']! > 400, JSON.stringify(s));
  }
});

test('consistent hashing picks the level by the key too: a key sticks while its level is healthy', () => {
  const ejected = new Set<string>();
  const lb = new LoadBalancer(seeded(8), { health: { ejected: (_c, k) => ejected.has(k) }, self: () => ({ locality: SELF, labels: {} }) });
  const eps = [endpoint(0, { locality: SELF }), endpoint(1, { locality: SELF }), endpoint(2, { locality: loc('eu-west') })];
  const c = cluster({ lb: { kind: 'CONSISTENT_HASH', key: { header: 'x-user' } }, outlierDetection: OUTLIER });
  const pick = (u: string): string => lb.pick(c, eps, { headers: new Map([['x-user', [u]]]), query: '', sourceIp: '' })!.workload.name;
  const before = Array.from({ length: 50 }, (_, i) => pick(`u${i}`));
  assert.ok(before.every((n) => n !== 'ep-2'));
  assert.deepEqual(Array.from({ length: 50 }, (_, i) => pick(`u${i}`)), before);
  ejected.add(eps[0]!.key).add(eps[1]!.key);
  assert.ok(Array.from({ length: 50 }, (_, i) => pick(`u${i}`)).every((n) => n === 'ep-2'));
});

test('locality rules match as Istio LocalityMatch: region exact or *, zone/subzone absent or * match all', () => {
  const l = loc('us-east', 'us-east-1a', 'rack1');
  const cases: Array<[string, boolean]> = [
    ['us-east', true], ['us-east/*', true], ['us-east/us-east-1a', true], ['us-east/us-east-1a/rack1', true], ['*', true],
    ['us-east/us-east-1b', false], ['us-east/us-east-1a/rack2', false], ['eu-west', false], ['us-east/*/rack2', false],
  ];
  for (const [rule, want] of cases) assert.equal(localityMatch(l, rule), want, rule);
});

test('failoverPriority: all labels shared ⇒ 0, else n − j for the first label j not shared; key=value overrides ours', () => {
  const self = { 'topology.istio.io/network': 'n1', 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z1' };
  const p = ['topology.istio.io/network', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone'];
  const cases: Array<[Record<string, string>, readonly string[], number]> = [
    [{ ...self }, p, 0],
    [{ ...self, 'topology.kubernetes.io/zone': 'z2' }, p, 1],
    [{ ...self, 'topology.kubernetes.io/region': 'r2' }, p, 2],
    [{ ...self, 'topology.istio.io/network': 'n2' }, p, 3],
    [{ ...self, 'topology.istio.io/network': 'n2' }, ['topology.istio.io/network=n2', 'topology.kubernetes.io/region'], 0],
    [{ ...self }, ['topology.istio.io/network=n2'], 1],
    [{ ...self }, ['app'], 0], // neither side has it: shared
  ];
  for (const [ep, prio, want] of cases) assert.equal(failoverPriority(self, ep, prio), want, JSON.stringify([ep, prio]));
});

const SELF_FULL: LocalitySelf = { locality: SELF, labels: { 'topology.kubernetes.io/region': 'us-east', 'topology.kubernetes.io/zone': 'us-east-1a' } };
const asSelf = (e: ReturnType<typeof endpoint>): LocalitySelf => ({ locality: e.workload.locality, labels: { 'topology.kubernetes.io/region': e.workload.locality.region, 'topology.kubernetes.io/zone': e.workload.locality.zone } });

test('the locality plan follows Istio: disabled, distribute (any cluster), failover and failoverPriority (outlier detection only)', () => {
  const eps = [endpoint(0, { locality: SELF }), endpoint(1, { locality: loc('us-east', 'us-east-1b') }), endpoint(2, { locality: loc('eu-west', 'eu-west-1a') }), endpoint(3, { locality: loc('eu-west', 'eu-west-1b') })];
  const names = (levels: readonly (readonly ReturnType<typeof endpoint>[])[]): string[][] => levels.map((l) => l.map((e) => e.workload.name));
  assert.equal(localityPlan(undefined, eps, asSelf, undefined, true).mode, 'none');
  assert.equal(localityPlan(SELF_FULL, eps, asSelf, { enabled: false }, true).mode, 'none');
  assert.equal(localityPlan(SELF_FULL, eps, asSelf, undefined, false).mode, 'none');
  assert.deepEqual(names(localityPlan(SELF_FULL, eps, asSelf, undefined, true).levels), [['ep-0'], ['ep-1'], ['ep-2', 'ep-3']]);
  const fp = localityPlan(SELF_FULL, eps, asSelf, { failoverPriority: ['topology.kubernetes.io/region', 'topology.kubernetes.io/zone'] }, true);
  assert.deepEqual({ mode: fp.mode, levels: names(fp.levels) }, { mode: 'failoverPriority', levels: [['ep-0'], ['ep-1'], ['ep-2', 'ep-3']] });
  // distribute: from our zone, 80 % stays in us-east (split over its two zones), 20 % to eu-west/eu-west-1a; eu-west-1b gets nothing.
  const d = localityPlan(SELF_FULL, eps, asSelf, { distribute: [{ from: 'us-west/*', to: { '*': 100 } }, { from: 'us-east/us-east-1a/*', to: { 'us-east/*': 80, 'eu-west/eu-west-1a': 20 } }] }, false);
  assert.equal(d.mode, 'distribute');
  assert.deepEqual(d.groups?.map((g) => [g.locality, g.weight, g.eps.map((e) => e.workload.name)]), [
    ['us-east/us-east-1a/rack1', 40, ['ep-0']], ['us-east/us-east-1b/', 40, ['ep-1']], ['eu-west/eu-west-1a/', 20, ['ep-2']],
  ]);
  assert.deepEqual(names(d.levels), [['ep-0', 'ep-1', 'ep-2']]);
});

test('a distribute pick follows the weights, scaled down by each locality’s usable share', () => {
  const a = [endpoint(0), endpoint(1)];
  const b = [endpoint(2)];
  const groups = [{ eps: a, weight: 80 }, { eps: b, weight: 20 }];
  const count = (usable: (e: ReturnType<typeof endpoint>) => boolean): number => {
    const r = seeded(3);
    let inA = 0;
    for (let i = 0; i < 4000; i++) if (chooseLocality(groups, usable, r())?.some((e) => a.includes(e))) inA++;
    return inA / 4000;
  };
  assert.ok(Math.abs(count(() => true) - 0.8) < 0.03);
  // Half of `a` down: its effective weight is 80 × min(1, 1.4 × 0.5) = 56 ⇒ 56/76.
  assert.ok(Math.abs(count((e) => e !== a[0]) - 56 / 76) < 0.03);
  assert.equal(chooseLocality(groups, () => false, 0.5), undefined);
});

test('the load balancer spreads by distribute weights and leaves out the localities no rule names', () => {
  const lb = new LoadBalancer(seeded(4), { self: () => SELF_FULL });
  const eps = [endpoint(0, { locality: SELF }), endpoint(1, { locality: loc('eu-west') }), endpoint(2, { locality: loc('ap-south') })];
  const c = cluster({ lb: { kind: 'RANDOM' }, localityLb: { distribute: [{ from: 'us-east/*', to: { 'us-east': 75, 'eu-west': 25 } }] } });
  const s = shares(lb, c, eps, 4000);
  assert.equal(s['ep-2'], undefined);
  assert.ok(Math.abs(s['ep-0']! / 4000 - 0.75) < 0.03, JSON.stringify(s));
  const dump = lb.locality(c, eps);
  assert.deepEqual({ mode: dump.mode, w: [...dump.weight.values()] }, { mode: 'distribute', w: [75, 25] });
});
