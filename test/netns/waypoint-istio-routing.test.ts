// Istio's routing tutorials at the waypoint, with Istio objects only: a DestinationRule with subsets
// v1/v2 (`version` label) and a VirtualService on Service echo — traffic shifting 90/10 → 50/50 →
// 0/100 over 1,000 requests each, request routing (A/B) on a header, mirroring to v2, TCP shifting.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { WaypointMesh, echoed } from '../helpers/waypoint-mesh.js';
import { ECHO_PORTS } from '../helpers/waypoint-manifests.js';
import {
  VERSION_SUBSETS, clusterName, destinationRuleYaml, mirrorsAt, tcpConnections, tcpWeightsAt, toSubset, virtualServiceYaml, waypointMetric, weightsAt,
} from '../helpers/waypoint-istio-objects.js';

let wm: WaypointMesh;
const V1 = clusterName('echo', 'v1');
const V2 = clusterName('echo', 'v2');

before(async () => {
  requireRoot('the Istio routing tutorials at the waypoint');
  wm = await WaypointMesh.start();
  // samples/bookinfo/networking/destination-rule-all.yaml, for echo.
  wm.mesh.manifests.write('destination-rule.yaml', destinationRuleYaml('echo', { host: 'echo', subsets: VERSION_SUBSETS }));
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

/**
 * Applies the VirtualService `echo` (one object changed in place, as the tutorials do) and waits
 * until the waypoint serves its weights and mirrors (per route: `[cluster, weight]`, `[cluster, percent]`).
 */
async function applyVs(http: readonly Record<string, unknown>[], weights: Array<Array<[string, number]>>, mirrors: Array<Array<[string, number]>> = weights.map(() => [])): Promise<void> {
  await wm.apply({ 'virtual-service.yaml': virtualServiceYaml('echo', { hosts: ['echo'], http }) }, (c) =>
    JSON.stringify([weightsAt(c, 'echo:80'), mirrorsAt(c, 'echo:80')]) === JSON.stringify([weights, mirrors]));
}

// Traffic shifting (tasks/traffic-management/traffic-shifting): the same VirtualService, weights changed.
// Each row: 1,000 requests from c1 with `hey -c 10`; v2's count is binomial(1000, p), σ = √(1000·p·(1−p));
// the tolerance is ±4σ (rounded up), so a correct split fails it about once in 15,000 runs.
const SHIFTS = [
  { v1: 90, v2: 10, v2Range: [62, 138] }, // σ ≈ 9.5
  { v1: 50, v2: 50, v2Range: [437, 563] }, // σ ≈ 15.8
  { v1: 0, v2: 100, v2Range: [1000, 1000] }, // weight 0 is never picked: exact
] as const;

for (const row of SHIFTS) {
  test(`traffic shifting ${row.v1}/${row.v2}: v2 gets ${row.v2Range[0]}..${row.v2Range[1]} of 1,000 requests (±4σ), counted at the backends`, async () => {
    await applyVs([{ route: [toSubset('v1', row.v1), toSubset('v2', row.v2)] }], [row.v1 === 0 ? [[V2, 100]] : [[V1, row.v1], [V2, row.v2]]]);
    const path = `/shift-${row.v1}-${row.v2}`;
    const v2Series = { reporter: 'waypoint', destination_service_name: 'echo', destination_workload: 's2', response_code: '200' };
    const reportedBefore = await waypointMetric(wm, 'istio_requests_total', v2Series);
    const from = wm.mark();
    const r = await wm.hey(wm.url('echo', path), 1000, 10);
    assert.deepEqual(r.statuses, { 200: 1000 }, r.errors.join('\n'));
    const seen = await wm.waitSeen(from, (s) => s.url === path, 1000);
    assert.equal(seen.length, 1000, 'each request reached exactly one backend');
    const v2 = seen.filter((s) => s.pod === 's2').length;
    assert.ok(v2 >= row.v2Range[0] && v2 <= row.v2Range[1], `v2 got ${v2} of 1000 (expected ${row.v2 * 10} within ${row.v2Range.join('..')})`);
    assert.ok(seen.every((s) => s.version === (s.pod === 's2' ? 'v2' : 'v1')), 'each subset holds only its version');
    // The waypoint reports the subset's pod as destination: its istio_requests_total agrees with the backends.
    const reported = (await waypointMetric(wm, 'istio_requests_total', v2Series)) - reportedBefore;
    assert.equal(reported, v2, 'istio_requests_total{reporter="waypoint",destination_workload="s2"} counted what v2 saw');
  });
}

// Request routing (tasks/traffic-management/request-routing): `end-user: jason` → v2, everyone else → v1.
// The header match is exact and case-sensitive in its value; header names are case-insensitive.
const AB_ROWS: ReadonlyArray<{ headers: string[]; pod: 's1' | 's2' }> = [
  { headers: ['end-user: jason'], pod: 's2' },
  { headers: ['End-User: jason'], pod: 's2' },
  { headers: [], pod: 's1' },
  { headers: ['end-user: Jason'], pod: 's1' },
  { headers: ['end-user: jason2'], pod: 's1' },
  { headers: ['end-user: mike'], pod: 's1' },
];

test('request routing on a header (A/B): end-user: jason → v2, any other request → v1, 5 requests per row', async () => {
  await applyVs(
    [
      { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [toSubset('v2')] },
      { route: [toSubset('v1')] },
    ],
    [[[V2, 100]], [[V1, 100]]],
  );
  const got: Record<string, string[]> = {};
  const want: Record<string, string[]> = {};
  for (const row of AB_ROWS) {
    const key = row.headers.join() || '(no header)';
    want[key] = Array(5).fill(row.pod);
    got[key] = [];
    for (let i = 0; i < 5; i++) {
      const r = await wm.curl(wm.url('echo', `/ab/${i}`), row.headers.flatMap((h) => ['-H', h]));
      assert.equal(r.status, 200, r.error || r.body);
      got[key]!.push(echoed(r)!.pod);
    }
  }
  assert.deepEqual(got, want);
});

test('mirroring 100 % to v2: the client sees v1 only, v2 receives a copy of every request (same path, Host and request id)', async () => {
  await applyVs([{ route: [toSubset('v1', 100)], mirror: { host: 'echo', subset: 'v2' }, mirrorPercentage: { value: 100 } }], [[[V1, 100]]], [[[V2, 100]]]);
  const from = wm.mark();
  for (let i = 0; i < 10; i++) {
    const r = await wm.curl(wm.url('echo', `/mirror/${i}`), ['-H', 'x-mirror-test: yes']);
    assert.equal(r.status, 200, r.error || r.body);
    assert.equal(echoed(r)!.pod, 's1', `request ${i}: the client is answered by v1`);
  }
  const copies = await wm.waitSeen(from, (s) => s.pod === 's2' && s.url.startsWith('/mirror/'), 10);
  const primaries = wm.seenSince(from, '/mirror/').filter((s) => s.pod === 's1');
  assert.deepEqual(copies.map((s) => s.url).sort(), primaries.map((s) => s.url).sort(), 'every request was mirrored once');
  for (const copy of copies) {
    const primary = primaries.find((p) => p.url === copy.url)!;
    // Istio disables Envoy's "-shadow" Host suffix; the copy carries the request's headers and id.
    assert.deepEqual([copy.headers.host, copy.headers['x-mirror-test'], copy.headers['x-request-id']], [primary.headers.host, ['yes'], primary.headers['x-request-id']]);
  }

  // The mirror's answer is never waited for: v2 taking 3 s does not slow the client (fire and forget).
  const t0 = Date.now();
  const slow = await wm.curl(wm.url('echo', '/mirror-slow?delay=3000&only=s2'));
  assert.equal(echoed(slow)!.pod, 's1');
  assert.ok(Date.now() - t0 < 2500, `answered after ${Date.now() - t0} ms while the mirror takes 3 s`);
  // Nor does a mirror's failure reach the client.
  const failing = await wm.curl(wm.url('echo', '/mirror-fail?status=500&only=s2'));
  assert.equal(failing.status, 200);
  await wm.waitSeen(from, (s) => s.pod === 's2' && s.url.startsWith('/mirror-fail'), 1);
});

test('mirroring 50 %: v2 receives 200 ± 40 (±4σ) copies of 400 requests; the client always sees v1', async () => {
  await applyVs([{ route: [toSubset('v1', 100)], mirror: { host: 'echo', subset: 'v2' }, mirrorPercentage: { value: 50 } }], [[[V1, 100]]], [[[V2, 50]]]);
  const from = wm.mark();
  const r = await wm.hey(wm.url('echo', '/mirror-half'), 400, 8);
  assert.deepEqual(r.statuses, { 200: 400 }, r.errors.join('\n'));
  await wm.waitSeen(from, (s) => s.pod === 's1' && s.url === '/mirror-half', 400);
  // Copies are sent without waiting; give the last ones a moment to land.
  await new Promise((res) => setTimeout(res, 500));
  const copies = wm.seenSince(from, '/mirror-half').filter((s) => s.pod === 's2').length;
  // binomial(400, ½): σ = 10.
  assert.ok(copies >= 160 && copies <= 240, `v2 saw ${copies} copies of 400`);
});

// TCP traffic shifting (tasks/traffic-management/tcp-traffic-shifting): `tcp` routes of the same
// VirtualService on the opaque port 9000, 100/0 then 80/20, counted by the waypoint per destination pod.
const TCP_SHIFTS = [
  { v1: 100, v2: 0, n: 40, v2Range: [0, 0] },
  // binomial(200, 0.2): σ ≈ 5.7; ±4σ ≈ ±23.
  { v1: 80, v2: 20, n: 200, v2Range: [17, 63] },
] as const;

for (const row of TCP_SHIFTS) {
  test(`TCP traffic shifting ${row.v1}/${row.v2} on port 9000: v2 gets ${row.v2Range.join('..')} of ${row.n} connections, every one echoed`, async () => {
    const dest = (subset: string, weight: number) => ({ destination: { host: 'echo', subset, port: { number: ECHO_PORTS.tcp } }, weight });
    const routes = [dest('v1', row.v1), ...(row.v2 > 0 ? [dest('v2', row.v2)] : [])];
    const want: Array<[string, number]> = routes.map((r) => [clusterName('echo', r.destination.subset, ECHO_PORTS.tcp), r.weight]);
    await wm.apply(
      { 'virtual-service.yaml': virtualServiceYaml('echo', { hosts: ['echo'], http: [{ route: [toSubset('v1')] }], tcp: [{ match: [{ port: ECHO_PORTS.tcp }], route: routes }] }) },
      (c) => JSON.stringify(tcpWeightsAt(c, `echo:${ECHO_PORTS.tcp}`)) === JSON.stringify(want),
    );
    const opened = (pod: string) => waypointMetric(wm, 'istio_tcp_connections_opened_total', { reporter: 'waypoint', destination_service_name: 'echo', destination_workload: pod });
    const before = { s1: await opened('s1'), s2: await opened('s2') };
    const r = await tcpConnections(wm, wm.vip('echo'), ECHO_PORTS.tcp, row.n);
    assert.deepEqual(r, { echoed: row.n, failed: [] });
    const got = { s1: (await opened('s1')) - before.s1, s2: (await opened('s2')) - before.s2 };
    assert.equal(got.s1 + got.s2, row.n, `every connection opened once at the waypoint: ${JSON.stringify(got)}`);
    assert.ok(got.s2 >= row.v2Range[0] && got.s2 <= row.v2Range[1], `v2 got ${got.s2} of ${row.n}`);
  });
}
