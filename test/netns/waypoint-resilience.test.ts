// Waypoint timeouts and retries end to end: `timeouts.request` ⇒ 504 while the backend is still
// working, `retry` attempts and codes counted at the backends, a retry preferring another endpoint,
// per-try timeouts, and Istio's default policy (503 is not retried without a retry stanza).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { WaypointMesh, echoed } from '../helpers/waypoint-mesh.js';
import { backend, routeYaml, serviceParent } from '../helpers/waypoint-manifests.js';
import type { LogLine } from '../helpers/agent-process.js';

let wm: WaypointMesh;


after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

const ECHO = serviceParent('echo', 80);
const prefix = (value: string) => [{ path: { type: 'PathPrefix', value } }];

/** The waypoint's access log line of the request whose path is `path`. */
async function accessLine(path: string): Promise<LogLine> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const l = wm.waypoint.lines.find((x) => x.msg === 'request complete' && x.path === path);
    if (l) return l;
    if (Date.now() > deadline) throw new Error(`no access log line for ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  requireRoot('the waypoint timeout and retry tests');
  wm = await WaypointMesh.start();
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'resilience', [ECHO], [
      { matches: prefix('/timeout'), timeouts: { request: '500ms' }, backendRefs: [backend('echo-v1', 80)] },
      { matches: prefix('/retry'), retry: { attempts: 3, codes: [503], backoff: '10ms' }, backendRefs: [backend('echo-v1', 80)] },
      { matches: prefix('/other-endpoint'), retry: { attempts: 1, codes: [503], backoff: '10ms' }, backendRefs: [backend('echo', 80)] },
      {
        matches: prefix('/per-try'),
        timeouts: { request: '5s', backendRequest: '300ms' },
        retry: { attempts: 2, codes: [503, 504], backoff: '10ms' },
        backendRefs: [backend('echo-v1', 80)],
      },
      { matches: prefix('/no-policy'), backendRefs: [backend('echo-v1', 80)] },
    ]),
    { 'echo:80': ['resilience'] },
  );
});

test('timeouts.request 500ms: a backend answering after 3 s gives the client 504 at about 500 ms; one request reached the backend', async () => {
  const from = wm.mark();
  const t0 = Date.now();
  const r = await wm.curl(wm.url('echo', '/timeout/slow?delay=3000'));
  const took = Date.now() - t0;
  assert.equal(r.status, 504, r.error || r.body);
  assert.match(r.body, /upstream request timeout/);
  assert.ok(took >= 450 && took < 2500, `answered after ${took} ms`);
  assert.equal(wm.seenSince(from, '/timeout').length, 1);
  const line = await accessLine('/timeout/slow');
  assert.equal(line.response_code, 504);
  assert.equal(line.response_flags, 'UT');
  // A fast answer on the same route is not affected.
  const ok = await wm.curl(wm.url('echo', '/timeout/fast?delay=50'));
  assert.equal(ok.status, 200);
});

test('retry attempts 3 on 503: the backend sees 1 + 3 requests, the client the last 503; attempts and URX in the access log', async () => {
  const from = wm.mark();
  const r = await wm.curl(wm.url('echo', '/retry/always?status=503'));
  assert.equal(r.status, 503, r.error || r.body);
  assert.equal(echoed(r)?.pod, 's1', "the backend's own 503 is passed on");
  await new Promise((res) => setTimeout(res, 300));
  const seen = wm.seenSince(from, '/retry/always');
  assert.equal(seen.length, 4, 'first try + 3 retries');
  assert.equal(new Set(seen.map((s) => s.headers['x-request-id']?.[0])).size, 1, 'one request id across attempts');
  const line = await accessLine('/retry/always');
  assert.equal(line.attempts, 4);
  assert.equal(line.response_code, 503);
  // Envoy's router sets UpstreamRetryLimitExceeded when a retriable answer is passed on because no retry is left.
  assert.equal(line.response_flags, 'URX');

  // A status not in `codes` is not retried.
  const from2 = wm.mark();
  const r2 = await wm.curl(wm.url('echo', '/retry/other?status=500'));
  assert.equal(r2.status, 500);
  assert.equal(wm.seenSince(from2, '/retry/other').length, 1);
  assert.equal((await accessLine('/retry/other')).response_flags, '-');
});

test('a retry goes to another endpoint: s1 fails every time, yet every client gets s2; no request hit s1 twice', async () => {
  const from = wm.mark();
  for (let i = 0; i < 16; i++) {
    const r = await wm.curl(wm.url('echo', `/other-endpoint/${i}?status=503&only=s1`));
    assert.equal(r.status, 200, `request ${i}: ${r.body}`);
    assert.equal(echoed(r)!.pod, 's2');
  }
  const seen = wm.seenSince(from, '/other-endpoint/');
  for (let i = 0; i < 16; i++) {
    const pods = seen.filter((s) => s.url.startsWith(`/other-endpoint/${i}?`)).map((s) => s.pod);
    assert.ok(pods.join() === 's2' || pods.join() === 's1,s2', `request ${i} went to ${pods.join()}`);
  }
});

test('backendRequest with a retry is the per-try timeout: 3 tries of 300 ms, each seen by the backend, then 504', async () => {
  const from = wm.mark();
  const t0 = Date.now();
  const r = await wm.curl(wm.url('echo', '/per-try/slow?delay=2000'));
  const took = Date.now() - t0;
  assert.equal(r.status, 504, r.error || r.body);
  assert.ok(took >= 850 && took < 4000, `answered after ${took} ms`);
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(wm.seenSince(from, '/per-try/slow').length, 3);
  const line = await accessLine('/per-try/slow');
  assert.equal(line.attempts, 3);
  assert.equal(line.response_code, 504);
  assert.equal(line.response_flags, 'UT,URX');
});

test('no retry stanza: Istio no longer retries 503 by default, so the backend sees exactly one request', async () => {
  const from = wm.mark();
  const r = await wm.curl(wm.url('echo', '/no-policy/x?status=503'));
  assert.equal(r.status, 503);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(wm.seenSince(from, '/no-policy').length, 1);
  assert.equal((await accessLine('/no-policy/x')).attempts, 1);
});
