// Istio's fault-injection, request-timeout and retry tutorials at the waypoint, with one
// VirtualService (subsets of a DestinationRule): a fixed delay measured by the client and the
// backend, aborts (100 % and 50 % of 1,000 requests), route timeouts, and retries counted at the backend.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { WaypointMesh, echoed } from '../helpers/waypoint-mesh.js';
import type { LogLine } from '../helpers/agent-process.js';
import {
  VERSION_SUBSETS, destinationRuleYaml, routesAt, timedCurl, toSubset, virtualServiceYaml, waypointMetric,
} from '../helpers/waypoint-istio-objects.js';

let wm: WaypointMesh;
const JASON = ['-H', 'end-user: jason'];
const prefix = (p: string, headers?: Record<string, unknown>) => [{ uri: { prefix: p }, ...(headers ? { headers } : {}) }];
const jason = { 'end-user': { exact: 'jason' } };

// One VirtualService, first match wins (VirtualService order). Delay and abort follow the tutorial's
// `virtual-service-ratings-test-delay.yaml` / `-abort.yaml` (only for end-user jason); the timeout is
// `reviews` 0.5s of the request-timeouts task; retries are the VirtualService `retries` stanza.
const HTTP = [
  { match: prefix('/fault-delay/', jason), fault: { delay: { fixedDelay: '2s', percentage: { value: 100 } } }, route: [toSubset('v1')] },
  { match: prefix('/fault-delay/'), route: [toSubset('v1')] },
  { match: prefix('/fault-abort/', jason), fault: { abort: { httpStatus: 500, percentage: { value: 100 } } }, route: [toSubset('v1')] },
  { match: prefix('/fault-abort/'), route: [toSubset('v1')] },
  { match: prefix('/delay-half/'), fault: { delay: { fixedDelay: '400ms', percentage: { value: 50 } } }, route: [toSubset('v1')] },
  { match: prefix('/abort-half/'), fault: { abort: { httpStatus: 503, percentage: { value: 50 } } }, route: [toSubset('v1')] },
  { match: prefix('/timeout/'), timeout: '0.5s', route: [toSubset('v1')] },
  { match: prefix('/delay-and-timeout/'), fault: { delay: { fixedDelay: '1s', percentage: { value: 100 } } }, timeout: '0.5s', route: [toSubset('v1')] },
  { match: prefix('/retry-5xx/'), retries: { attempts: 3, perTryTimeout: '2s', retryOn: '5xx' }, route: [toSubset('v1')] },
  { match: prefix('/retry-gateway-error/'), retries: { attempts: 3, retryOn: 'gateway-error' }, route: [toSubset('v1')] },
  { match: prefix('/retry-codes/'), retries: { attempts: 2, retryOn: '503' }, route: [toSubset('v1')] },
  { match: prefix('/retry-per-try/'), retries: { attempts: 2, perTryTimeout: '300ms', retryOn: '5xx' }, route: [toSubset('v1')] },
  { match: prefix('/retry-other-pod/'), retries: { attempts: 1, retryOn: '5xx' }, route: [{ destination: { host: 'echo' } }] },
  { match: prefix('/retry-off/'), retries: { attempts: 0 }, route: [toSubset('v1')] },
];

before(async () => {
  requireRoot('the Istio fault, timeout and retry tutorials at the waypoint');
  wm = await WaypointMesh.start();
  await wm.apply(
    {
      'destination-rule.yaml': destinationRuleYaml('echo', { host: 'echo', subsets: VERSION_SUBSETS }),
      'virtual-service.yaml': virtualServiceYaml('echo', { hosts: ['echo'], http: HTTP }),
    },
    (c) => routesAt(c, 'echo:80').length === HTTP.length,
  );
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

/** The waypoint's access log line of the request whose path (without query) is `path`. */
async function accessLine(path: string): Promise<LogLine> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const l = wm.waypoint.lines.find((x) => x.msg === 'request complete' && x.path === path);
    if (l) return l;
    if (Date.now() > deadline) throw new Error(`no access log line for ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Timing rows: what the client measures (curl's time_total) and the flags Envoy would log. Bounds are
// generous upwards (a loaded, shared machine) and tight downwards: a delay can never be shorter.
const TIMED: ReadonlyArray<{ name: string; path: string; args?: string[]; status: number; minS: number; maxS: number; flags: string; backendAfterS?: number }> = [
  { name: 'delay 2s for jason', path: '/fault-delay/jason', args: JASON, status: 200, minS: 2.0, maxS: 4.5, flags: 'DI', backendAfterS: 2.0 },
  { name: 'no delay for others', path: '/fault-delay/other', status: 200, minS: 0, maxS: 1.5, flags: '-' },
  { name: 'timeout 0.5s, backend answers in 2 s ⇒ 504', path: '/timeout/slow?delay=2000', status: 504, minS: 0.5, maxS: 1.9, flags: 'UT' },
  { name: 'timeout 0.5s, backend answers in 100 ms ⇒ 200', path: '/timeout/fast?delay=100', status: 200, minS: 0.1, maxS: 1.9, flags: '-' },
  // Envoy starts the route timeout in the router, after the fault filter released the request.
  { name: 'delay 1s then timeout 0.5s: the delay does not count against the timeout', path: '/delay-and-timeout/fast', status: 200, minS: 1.0, maxS: 3.0, flags: 'DI' },
  { name: 'delay 1s then a backend slower than the 0.5s timeout ⇒ 504 after ≈1.5 s', path: '/delay-and-timeout/slow?delay=3000', status: 504, minS: 1.5, maxS: 3.4, flags: 'UT,DI' },
];

for (const row of TIMED) {
  test(`fixed delay and timeouts: ${row.name} → ${row.status} in [${row.minS}, ${row.maxS}] s, flags ${row.flags}`, async () => {
    if (row.status === 504) {
      const body = await wm.curl(wm.url('echo', row.path.replace(/\/([^/?]*)(\?|$)/, '/$1-body$2')), row.args ?? []);
      assert.deepEqual([body.status, body.body], [504, 'upstream request timeout'], "Envoy's timeout reply");
    }
    const from = wm.mark();
    const t0 = Date.now();
    const r = await timedCurl(wm, wm.url('echo', row.path), row.args);
    assert.equal(r.status, row.status);
    assert.ok(r.seconds >= row.minS && r.seconds <= row.maxS, `took ${r.seconds} s`);
    const line = await accessLine(row.path.split('?')[0]!);
    assert.equal(line.response_flags, row.flags);
    assert.equal(line.response_code, row.status);
    if (row.backendAfterS !== undefined) {
      // The backend saw the request only after the delay: the waypoint held it, not the backend.
      const [seen] = await wm.waitSeen(from, (s) => s.url === row.path, 1);
      assert.ok(seen!.at - t0 >= row.backendAfterS * 1000 - 50, `the backend got it ${seen!.at - t0} ms after the client sent it`);
    }
  });
}

test('delay 400ms for 50 %: of 60 requests 30 ± 16 (±4σ) are delayed, marked DI, and at least that many took ≥ 400 ms', async () => {
  const diSeries = { reporter: 'waypoint', destination_service_name: 'echo', response_code: '200', response_flags: 'DI' };
  const diBefore = await waypointMetric(wm, 'istio_requests_total', diSeries);
  // One curl, 60 URLs on one keep-alive connection: time_total per request, no exec overhead.
  const urls = Array.from({ length: 60 }, (_, i) => wm.url('echo', `/delay-half/${i}`));
  const r = await wm.exec('c1', ['curl', '-sS', '--max-time', '120', ...urls.flatMap((u) => ['-o', '/dev/null', '-w', '%{http_code} %{time_total}\\n', u])], 150_000);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number]);
  assert.deepEqual(rows.map(([s]) => s), Array(60).fill(200));
  // The waypoint's count of delayed requests; binomial(60, ½): σ ≈ 3.9, ±4σ ≈ ±16.
  const delayed = (await waypointMetric(wm, 'istio_requests_total', diSeries)) - diBefore;
  assert.ok(delayed >= 14 && delayed <= 46, `${delayed} of 60 delayed`);
  // A delayed request cannot be faster than the delay (a quick one may be slow on a loaded machine,
  // so only this direction is exact): the `delayed` slowest requests all took ≥ 400 ms.
  const times = rows.map(([, t]) => t).sort((a, b) => b - a);
  assert.ok(times[delayed - 1]! >= 0.4, `times: ${times.join(' ')}`);
  // And most of the others were quick: the delay is the route's, not the backend's.
  assert.ok(times.filter((t) => t < 0.4).length >= (60 - delayed) / 2, `times: ${times.join(' ')}`);
});

test('abort 100 % for jason: 500 "fault filter abort" (flag FI), never reaching a backend; others get v1', async () => {
  const from = wm.mark();
  const rows: Array<[string[], number]> = [[JASON, 500], [[], 200], [['-H', 'end-user: mike'], 200], [JASON, 500]];
  const got: Array<[string, number]> = [];
  for (const [args] of rows) {
    const r = await wm.curl(wm.url('echo', '/fault-abort/x'), args);
    got.push([args.join(' ') || '(none)', r.status]);
    if (r.status === 500) assert.equal(r.body, 'fault filter abort');
  }
  assert.deepEqual(got, rows.map(([args, want]) => [args.join(' ') || '(none)', want]));
  assert.equal(wm.seenSince(from, '/fault-abort/').length, 2, 'only the two requests without the fault reached v1');
  assert.ok(wm.seenSince(from, '/fault-abort/').every((s) => s.pod === 's1'));
  assert.equal((await accessLine('/fault-abort/x')).response_flags, 'FI');
});

test('abort 50 % (503) over 1,000 requests: 500 ± 63 aborted (±4σ), exactly the others reach v1, FI counted by the waypoint', async () => {
  const fi = { reporter: 'waypoint', destination_service_name: 'echo', response_code: '503', response_flags: 'FI' };
  const fiBefore = await waypointMetric(wm, 'istio_requests_total', fi);
  const from = wm.mark();
  const r = await wm.hey(wm.url('echo', '/abort-half/x'), 1000, 10);
  const aborted = r.statuses[503] ?? 0;
  const ok = r.statuses[200] ?? 0;
  assert.equal(aborted + ok, 1000, JSON.stringify(r));
  // binomial(1000, ½): σ ≈ 15.8; ±63 ≈ ±4σ.
  assert.ok(aborted >= 437 && aborted <= 563, `${aborted} of 1000 aborted`);
  const seen = await wm.waitSeen(from, (s) => s.url === '/abort-half/x', ok);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(wm.seenSince(from, '/abort-half/').length, ok, 'the backend saw exactly the requests that were not aborted');
  assert.ok(seen.every((s) => s.pod === 's1'));
  assert.equal((await waypointMetric(wm, 'istio_requests_total', fi)) - fiBefore, aborted, 'istio_requests_total{response_code="503",response_flags="FI"}');
});

// Retries: one request each; the backend counts the attempts (first try + retries).
const RETRIES: ReadonlyArray<{ name: string; path: string; status: number; seen: number; flags: string }> = [
  { name: 'retryOn 5xx, 3 attempts, backend 503', path: '/retry-5xx/a?status=503', status: 503, seen: 4, flags: 'URX' },
  { name: 'retryOn 5xx, backend 500 (any 5xx)', path: '/retry-5xx/b?status=500', status: 500, seen: 4, flags: 'URX' },
  { name: 'retryOn 5xx, backend 404: not retried', path: '/retry-5xx/c?status=404', status: 404, seen: 1, flags: '-' },
  { name: 'retryOn gateway-error, backend 502', path: '/retry-gateway-error/a?status=502', status: 502, seen: 4, flags: 'URX' },
  { name: 'retryOn gateway-error, backend 500: not a gateway error', path: '/retry-gateway-error/b?status=500', status: 500, seen: 1, flags: '-' },
  { name: 'retryOn "503" (a code), 2 attempts, backend 503', path: '/retry-codes/a?status=503', status: 503, seen: 3, flags: 'URX' },
  { name: 'retryOn "503", backend 500: not listed', path: '/retry-codes/b?status=500', status: 500, seen: 1, flags: '-' },
  { name: 'perTryTimeout 300ms, 2 attempts, backend takes 2 s', path: '/retry-per-try/a?delay=2000', status: 504, seen: 3, flags: 'UT,URX' },
  { name: 'attempts 0: retries off', path: '/retry-off/a?status=503', status: 503, seen: 1, flags: '-' },
];

for (const row of RETRIES) {
  test(`retries: ${row.name} → ${row.status}, the backend saw ${row.seen}`, async () => {
    const from = wm.mark();
    const r = await wm.curl(wm.url('echo', row.path));
    assert.equal(r.status, row.status, r.error || r.body);
    await new Promise((res) => setTimeout(res, 300));
    const base = row.path.split('?')[0]!;
    const seen = wm.seenSince(from, base);
    assert.equal(seen.length, row.seen);
    assert.ok(seen.every((s) => s.pod === 's1'), 'subset v1 only');
    assert.equal(new Set(seen.map((s) => s.headers['x-request-id']?.[0])).size, 1, 'one request id across attempts');
    const line = await accessLine(base);
    assert.deepEqual([line.attempts, line.response_code, line.response_flags], [row.seen, row.status, row.flags]);
  });
}

test('retries prefer another endpoint: s1 answers 503 every time, yet 12 of 12 clients get s2 after one retry', async () => {
  const from = wm.mark();
  const pods: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await wm.curl(wm.url('echo', `/retry-other-pod/${i}?status=503&only=s1`));
    assert.equal(r.status, 200, r.body);
    pods.push(echoed(r)!.pod);
  }
  assert.deepEqual(pods, Array(12).fill('s2'));
  const seen = wm.seenSince(from, '/retry-other-pod/');
  for (let i = 0; i < 12; i++) {
    const tries = seen.filter((s) => s.url.startsWith(`/retry-other-pod/${i}?`)).map((s) => s.pod).join();
    assert.ok(tries === 's2' || tries === 's1,s2', `request ${i}: ${tries}`);
  }
});
