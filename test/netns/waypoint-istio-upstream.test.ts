// Istio's circuit-breaking tutorial and DestinationRule traffic policies at the waypoint: connection
// pool limits tripping under hey (HTTP/1.1) and h2load (HTTP/2) concurrency with `UO` in
// istio_requests_total, outlier detection ejecting a pod that answers 5xx and returning it after
// baseEjectionTime, and consistent hashing keeping a header value (or a client) on one pod.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { WaypointMesh, echoed } from '../helpers/waypoint-mesh.js';
import { clusterIn, clusterName, destinationRuleYaml, h2load, waypointMetric } from '../helpers/waypoint-istio-objects.js';

let wm: WaypointMesh;
const V1_CLUSTER = clusterName('echo-v1');
const V2_CLUSTER = clusterName('echo-v2');
const ECHO_CLUSTER = clusterName('echo');

before(async () => {
  requireRoot('the Istio circuit-breaking and DestinationRule tutorials at the waypoint');
  wm = await WaypointMesh.start();
  await wm.apply(
    {
      // The circuit-breaking task's DestinationRule (tasks/traffic-management/circuit-breaking), on
      // echo-v1, outlier detection included: overflows must not count as the pod's errors (Envoy),
      // or the one pod would be ejected for 3 minutes and answer 503 UH instead.
      'dr-echo-v1.yaml': destinationRuleYaml('echo-v1', {
        host: 'echo-v1',
        trafficPolicy: {
          connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } },
          outlierDetection: { consecutive5xxErrors: 1, interval: '1s', baseEjectionTime: '3m', maxEjectionPercent: 100 },
        },
      }),
      // At most 2 requests in flight to echo-v2 (http2MaxRequests is Envoy's max_requests, HTTP/1.1 upstreams too).
      'dr-echo-v2.yaml': destinationRuleYaml('echo-v2', { host: 'echo-v2', trafficPolicy: { connectionPool: { http: { http2MaxRequests: 2 } } } }),
    },
    (c) => clusterIn(c, V1_CLUSTER)?.circuitBreaker?.maxPendingRequests === 1 && clusterIn(c, V2_CLUSTER)?.circuitBreaker?.maxRequests === 2,
  );
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

const UO = (service: string) => ({ reporter: 'waypoint', destination_service_name: service, response_code: '503', response_flags: 'UO' });

async function waitMetric(name: string, labels: Record<string, string>, ok: (v: number) => boolean, what: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await waypointMetric(wm, name, labels);
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: ${name} ${JSON.stringify(labels)} = ${v}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('maxConnections 1 + http1MaxPendingRequests 1: one request in flight, one pending, the third is refused at once (503 UO, x-envoy-overloaded)', async () => {
  const from = wm.mark();
  const uoBefore = await waypointMetric(wm, 'istio_requests_total', UO('echo-v1'));
  const first = wm.curl(wm.url('echo-v1', '/cb/first?delay=2500'), [], { maxTimeS: 20 });
  await wm.waitSeen(from, (s) => s.url.startsWith('/cb/first'), 1, 10_000);
  const second = wm.curl(wm.url('echo-v1', '/cb/second?delay=100'), [], { maxTimeS: 20 });
  // The second waits for the only connection: the pending budget is used up.
  await waitMetric('ambit_waypoint_circuit_breaker_remaining', { cluster: V1_CLUSTER, resource: 'pending' }, (v) => v === 0, 'the second request never went pending');
  const t0 = Date.now();
  const third = await wm.curl(wm.url('echo-v1', '/cb/third'));
  const tookMs = Date.now() - t0;
  const outcome = {
    third: [third.status, third.headers['x-envoy-overloaded']?.[0]],
    second: (await second).status,
    first: (await first).status,
  };
  assert.deepEqual(outcome, { third: [503, 'true'], second: 200, first: 200 });
  assert.equal(third.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow', "Envoy's overflow reply");
  assert.ok(tookMs < 2000, `the overflow is answered at once, not after the first request (${tookMs} ms)`);
  assert.deepEqual(wm.seenSince(from, '/cb/').map((s) => s.url.split('?')[0]).sort(), ['/cb/first', '/cb/second'], 'the refused request never reached the backend');
  assert.equal((await waypointMetric(wm, 'istio_requests_total', UO('echo-v1'))) - uoBefore, 1);
  const line = wm.waypoint.lines.find((l) => l.msg === 'request complete' && l.path === '/cb/third');
  assert.equal(line?.response_flags, 'UO');
});

test('the tutorial\'s burst (hey -c 10, 200 requests, backend 50 ms): some pass, the rest 503 UO; the waypoint\'s UO and pending-overflow counts equal the 503s', async () => {
  const uoBefore = await waypointMetric(wm, 'istio_requests_total', UO('echo-v1'));
  const pendingBefore = await waypointMetric(wm, 'ambit_waypoint_upstream_overflow_total', { cluster: V1_CLUSTER, kind: 'pending' });
  const from = wm.mark();
  const r = await wm.hey(wm.url('echo-v1', '/cb-burst?delay=50'), 200, 10);
  const ok = r.statuses[200] ?? 0;
  const overflow = r.statuses[503] ?? 0;
  assert.equal(ok + overflow, 200, JSON.stringify(r));
  // 10 clients, room for 2 (1 connection + 1 pending): an overflow is answered at once while an
  // admitted request takes ≥ 50 ms, so the clients cycle through refusals far faster than through
  // the backend. The split depends on timing (one run: 8 passed); both sides are bounded away from 0.
  assert.ok(ok >= 2 && overflow >= 100, `200: ${ok}, 503: ${overflow}`);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(wm.seenSince(from, '/cb-burst').length, ok, 'the backend saw exactly the 200s');
  assert.equal((await waypointMetric(wm, 'istio_requests_total', UO('echo-v1'))) - uoBefore, overflow, 'istio_requests_total{reporter="waypoint",response_flags="UO"}');
  assert.equal((await waypointMetric(wm, 'ambit_waypoint_upstream_overflow_total', { cluster: V1_CLUSTER, kind: 'pending' })) - pendingBefore, overflow, 'Envoy upstream_rq_pending_overflow');
  assert.equal(await waypointMetric(wm, 'ambit_waypoint_outlier_ejections_active', { cluster: V1_CLUSTER }), 0, 'overflows are not the pod\'s errors: no ejection');
});

test('http2MaxRequests 2 under h2load (HTTP/2, one connection, 20 concurrent streams): 503 UO beyond 2 in flight, counted per request', async () => {
  const uoBefore = await waypointMetric(wm, 'istio_requests_total', UO('echo-v2'));
  const rqBefore = await waypointMetric(wm, 'ambit_waypoint_upstream_overflow_total', { cluster: V2_CLUSTER, kind: 'requests' });
  const from = wm.mark();
  const r = await h2load(wm, wm.url('echo-v2', '/cb-h2?delay=100'), 200, 1, 20);
  assert.equal(r['2xx'] + r['5xx'], 200, JSON.stringify(r));
  assert.equal(r.errored, 0);
  // An overflow is answered at once while the 2 admitted requests take 100 ms, so h2load's refilled
  // streams overflow far more often than they pass: at least the first 2 pass, most are refused.
  assert.ok(r['2xx'] >= 2 && r['5xx'] >= 100, JSON.stringify(r));
  await new Promise((res) => setTimeout(res, 300));
  const seen = wm.seenSince(from, '/cb-h2');
  assert.equal(seen.length, r['2xx'], 'the backend saw exactly the 2xx');
  assert.ok(seen.every((s) => s.pod === 's2'));
  assert.equal((await waypointMetric(wm, 'istio_requests_total', UO('echo-v2'))) - uoBefore, r['5xx'], 'istio_requests_total{response_flags="UO"}');
  assert.equal((await waypointMetric(wm, 'ambit_waypoint_upstream_overflow_total', { cluster: V2_CLUSTER, kind: 'requests' })) - rqBefore, r['5xx'], 'Envoy upstream_rq_pending_overflow for max_requests');
});

test('outlier detection: s1 answering 500 three times in a row is ejected (all traffic to s2), and returns after baseEjectionTime 5s', async () => {
  // Round robin makes the alternation, and so the count of 5xx before the ejection, exact.
  await wm.apply(
    {
      'dr-echo.yaml': destinationRuleYaml('echo', {
        host: 'echo',
        trafficPolicy: {
          loadBalancer: { simple: 'ROUND_ROBIN' },
          outlierDetection: { consecutive5xxErrors: 3, interval: '1s', baseEjectionTime: '5s', maxEjectionPercent: 100 },
        },
      }),
    },
    (c) => clusterIn(c, ECHO_CLUSTER)?.outlierDetection?.consecutive5xxErrors === 3 && clusterIn(c, ECHO_CLUSTER)?.lb.kind === 'ROUND_ROBIN',
  );
  const ejectionsBefore = await waypointMetric(wm, 'ambit_waypoint_outlier_ejections_total', { cluster: ECHO_CLUSTER, type: 'consecutive_5xx' });
  // Phase 1: s1 fails every request it gets (`only=s1`), s2 answers 200. Sequential requests.
  const answers: string[] = [];
  let ejectedAt = 0;
  for (let i = 0; i < 16; i++) {
    const r = await wm.curl(wm.url('echo', `/od/${i}?status=500&only=s1`));
    answers.push(`${r.status} ${r.headers['x-pod']?.[0]}`);
    if (r.status === 500 && answers.filter((a) => a.startsWith('500')).length === 3) ejectedAt = Date.now();
  }
  // s1's three 500s alternate with s2's 200s, then s1 is out: the remaining requests all go to s2.
  const firstOk = answers.indexOf('200 s2');
  const expected = answers[0] === '500 s1'
    ? ['500 s1', '200 s2', '500 s1', '200 s2', '500 s1', ...Array(11).fill('200 s2')]
    : ['200 s2', '500 s1', '200 s2', '500 s1', '200 s2', '500 s1', ...Array(10).fill('200 s2')];
  assert.ok(firstOk <= 1);
  assert.deepEqual(answers, expected);
  assert.equal((await waypointMetric(wm, 'ambit_waypoint_outlier_ejections_total', { cluster: ECHO_CLUSTER, type: 'consecutive_5xx' })) - ejectionsBefore, 1);
  assert.equal(await waypointMetric(wm, 'ambit_waypoint_outlier_ejections_active', { cluster: ECHO_CLUSTER }), 1);
  // Phase 2: s1 is healthy again, but stays ejected until baseEjectionTime has passed (the 1 s
  // interval sweep returns it): poll with plain requests and note when s1 answers again.
  let back = 0;
  while (Date.now() - ejectedAt < 15_000) {
    const r = await wm.curl(wm.url('echo', '/od/probe'));
    assert.equal(r.status, 200, `${r.error} ${r.body}`);
    if (echoed(r)!.pod === 's1') {
      back = Date.now() - ejectedAt;
      break;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  // Lower bound: 5 s minus the client's own latency; upper: 5 s + one 1 s interval + slack for load.
  assert.ok(back >= 4_800 && back <= 9_000, `s1 returned ${back} ms after its ejection (baseEjectionTime 5s, interval 1s)`);
  assert.equal(await waypointMetric(wm, 'ambit_waypoint_outlier_ejections_active', { cluster: ECHO_CLUSTER }), 0);

  // Phase 3: both pods fail. Three 500s each eject both (maxEjectionPercent 100; Istio sets no panic
  // threshold), after which the waypoint has no endpoint left: 503 "no healthy upstream", flag UH.
  const all: string[] = [];
  for (let i = 0; i < 9; i++) {
    const r = await wm.curl(wm.url('echo', `/od-all/${i}?status=500`));
    all.push(r.status === 500 ? `500 ${r.headers['x-pod']?.[0]}` : `${r.status} ${r.body}`);
  }
  assert.deepEqual(all.slice(6), Array(3).fill('503 no healthy upstream'), all.join(' | '));
  assert.deepEqual(all.slice(0, 6).map((a) => a.split(' ')[0]), Array(6).fill('500'), all.join(' | '));
  assert.equal(await waypointMetric(wm, 'ambit_waypoint_outlier_ejections_active', { cluster: ECHO_CLUSTER }), 2);
  const uh = wm.waypoint.lines.find((l) => l.msg === 'request complete' && l.path === '/od-all/8');
  assert.deepEqual([uh?.response_code, uh?.response_flags], [503, 'UH']);
});

test('consistent hash on a header (httpHeaderName x-user): every value sticks to one pod over 8 requests; 16 values use both pods', async () => {
  await wm.apply(
    { 'dr-echo.yaml': destinationRuleYaml('echo', { host: 'echo', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } } } }) },
    (c) => clusterIn(c, ECHO_CLUSTER)?.lb.kind === 'CONSISTENT_HASH',
  );
  const byUser: Record<string, string[]> = {};
  for (let u = 0; u < 16; u++) {
    // 8 requests on one keep-alive connection: each is hashed on its own header value.
    const url = wm.url('echo', `/hash/u${u}`);
    const r = await wm.exec('c1', ['curl', '-sS', '--max-time', '10', '-H', `x-user: user-${u}`, ...Array(8).fill(0).flatMap(() => ['-o', '/dev/null', '-w', '%{http_code} %header{x-pod}\\n', url])]);
    assert.equal(r.code, 0, r.stderr);
    byUser[`user-${u}`] = [...new Set(r.stdout.trim().split('\n'))];
  }
  for (const [user, pods] of Object.entries(byUser)) assert.equal(pods.length, 1, `${user} went to ${pods.join(' and ')}`);
  // P(16 values on one pod) ≈ 2 · 2^-16 with the two pods' ring shares near ½.
  assert.deepEqual([...new Set(Object.values(byUser).map((p) => p[0]))].sort(), ['200 s1', '200 s2']);
  // Another client pod with the same value lands on the same pod: the key is the header, not the client.
  for (const u of [0, 1, 2, 3]) {
    const r = await wm.curl(wm.url('echo', `/hash/c2-u${u}`), ['-H', `x-user: user-${u}`], { pod: 'c2' });
    assert.equal(`${r.status} ${echoed(r)!.pod}`, byUser[`user-${u}`]![0]);
  }
});

test('consistent hash on a generated cookie (httpCookie with ttl): the first answer sets it, requests carrying it stick to one pod', async () => {
  await wm.apply(
    { 'dr-echo.yaml': destinationRuleYaml('echo', { host: 'echo', trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'session', path: '/', ttl: '60s' } } } } }) },
    (c) => {
      const lb = clusterIn(c, ECHO_CLUSTER)?.lb;
      return lb?.kind === 'CONSISTENT_HASH' && 'cookie' in lb.key;
    },
  );
  const first = await wm.curl(wm.url('echo', '/cookie/first'));
  assert.equal(first.status, 200);
  // Envoy's generated cookie: a quoted 16-hex value, Max-Age from the ttl, the path, HttpOnly.
  const set = first.headers['set-cookie']?.[0] ?? '';
  const m = /^session="([0-9a-f]{16})"; Max-Age=60; Path=\/; HttpOnly$/.exec(set);
  assert.ok(m, `Set-Cookie: ${set}`);
  const pods = new Set<string>();
  for (let i = 0; i < 8; i++) pods.add(echoed(await wm.curl(wm.url('echo', `/cookie/again-${i}`), ['-H', `cookie: session="${m[1]}"`]))!.pod);
  assert.equal(pods.size, 1, `one cookie, one pod: ${[...pods].join()}`);
  assert.equal([...pods][0], echoed(first)!.pod, 'the pod the first request went to');
  // Requests bringing their own cookie get no new one, and distinct cookies spread over both pods.
  const spread = new Set<string>();
  for (let i = 0; i < 16; i++) {
    const r = await wm.curl(wm.url('echo', `/cookie/own-${i}`), ['-H', `cookie: session=own-${i}`]);
    assert.equal(r.headers['set-cookie'], undefined);
    spread.add(echoed(r)!.pod);
  }
  assert.deepEqual([...spread].sort(), ['s1', 's2']);
});

test('consistent hash on the source IP (useSourceIp): each client pod sticks to one pod over 10 requests', async () => {
  await wm.apply(
    { 'dr-echo.yaml': destinationRuleYaml('echo', { host: 'echo', trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } } }) },
    (c) => {
      const lb = clusterIn(c, ECHO_CLUSTER)?.lb;
      return lb?.kind === 'CONSISTENT_HASH' && 'sourceIp' in lb.key;
    },
  );
  for (const pod of ['c1', 'c2'] as const) {
    const pods = new Set<string>();
    for (let i = 0; i < 10; i++) pods.add(echoed(await wm.curl(wm.url('echo', `/hash-ip/${pod}/${i}`), ['-H', `x-user: varies-${i}`], { pod }))!.pod);
    assert.equal(pods.size, 1, `${pod} went to ${[...pods].join(' and ')}`);
  }
});
