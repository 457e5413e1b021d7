// "Accept only from the waypoint" end to end (docs/WAYPOINT.md, Running a waypoint): with an L4
// ALLOW policy on the echo pods for the waypoint's principal only, a client's direct pod-IP
// connection is refused by the server's node agent while the service path through the waypoint works;
// with it, L7 policy at the waypoint (targetRefs) sees each client's own principal.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { spiffeOf } from '../helpers/inpod-manifests.js';
import { WaypointMesh, WAYPOINT_IDENTITY, echoed } from '../helpers/waypoint-mesh.js';
import { onlyFromWaypointYaml } from '../helpers/waypoint-manifests.js';

let wm: WaypointMesh;

before(async () => {
  requireRoot('the waypoint authorization tests');
  wm = await WaypointMesh.start();
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

const direct = (pod: 'c1' | 'c2' = 'c1') => wm.curl(`http://${wm.ip('s1')}:8080/direct`, [], { pod, maxTimeS: 5 });

test('without a policy: pod-IP traffic goes straight to the server (the waypoint is for service traffic)', async () => {
  const r = await direct();
  assert.equal(r.status, 200, r.error);
  const s = echoed(r)!;
  assert.equal(s.pod, 's1');
  assert.equal(s.client, wm.ip('c1'), 'not through the waypoint: the server sees the client pod');
  assert.equal(echoed(await wm.curl(wm.url('echo-v1', '/via')))!.client, wm.ip('wp'));
});

test('ALLOW only the waypoint principal: direct pod-IP connections are refused (DENY at the server agent), the service path works', async () => {
  wm.mesh.manifests.write('only-waypoint.yaml', onlyFromWaypointYaml());
  await wm.mesh.waitPolicies('node2', 1);
  const from = wm.mark();
  for (const pod of ['c1', 'c2'] as const) {
    const r = await direct(pod);
    assert.notEqual(r.exit, 0, `${pod}: the connection must fail, got ${r.status} ${r.body}`);
    assert.equal(r.status, 0, 'no HTTP answer at all: the agent resets the connection');
  }
  assert.equal(wm.seenSince(from, '/direct').length, 0, 'the server never saw the direct requests');
  // The server's agent logged and counted the refusals as DENY.
  const deadline = Date.now() + 5_000;
  let denied = 0;
  while (Date.now() < deadline && denied < 2) {
    denied = metricSum(await wm.mesh.agent('node2').metrics(), 'istio_tcp_connections_closed_total', { reporter: 'destination', destination_workload: 's1', response_flags: 'DENY' });
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(denied >= 2, `DENY counted at the server agent: ${denied}`);
  const line = wm.mesh.agent('node2').lines.find((l) => l.msg === 'connection complete' && l.direction === 'inbound' && l['src.workload'] === 'c1' && l.error !== undefined);
  assert.ok(line, 'the refusal is in the server agent access log');
  assert.equal(line['src.identity'], spiffeOf('client'));

  // Through the waypoint: the server agent sees the waypoint's principal, which the policy allows.
  for (const svc of ['echo', 'echo-v1', 'echo-v2'] as const) {
    const r = await wm.curl(wm.url(svc, '/via-waypoint'));
    assert.equal(r.status, 200, `${svc}: ${r.error || r.body}`);
    assert.equal(echoed(r)!.client, wm.ip('wp'));
  }
  // The waypoint keeps its upstream connections (keep-alive), so count opens, not completions.
  const m = await wm.mesh.agent('node2').metrics();
  assert.ok(metricSum(m, 'istio_tcp_connections_opened_total', { reporter: 'destination', source_principal: WAYPOINT_IDENTITY }) > 0);
  assert.equal(metricSum(m, 'istio_tcp_connections_closed_total', { reporter: 'destination', source_principal: WAYPOINT_IDENTITY, response_flags: 'DENY' }), 0);
});

test('L7 policy at the waypoint (targetRefs: Service): it sees the client principal — c1 allowed, c2 403, a DENY path 403 for all', async () => {
  const policy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: echo-v1-clients
  namespace: demo
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: echo-v1
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/demo/sa/client"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: echo-v1-no-admin
  namespace: demo
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: echo-v1
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["/admin/*"]
`;
  await wm.apply({ 'l7-policy.yaml': policy }, (c) => {
    const names = ((c as unknown as { security?: { authorization?: { name: string }[] } }).security?.authorization ?? []).map((p) => p.name).sort();
    return names.join() === 'echo-v1-clients,echo-v1-no-admin';
  });
  const from = wm.mark();
  const ok = await wm.curl(wm.url('echo-v1', '/l7/ok'));
  assert.equal(ok.status, 200, ok.error || ok.body);
  const other = await wm.curl(wm.url('echo-v1', '/l7/other'), [], { pod: 'c2' });
  assert.equal(other.status, 403);
  assert.equal(other.body, 'RBAC: access denied');
  assert.equal((await wm.curl(wm.url('echo-v1', '/admin/panel'))).status, 403);
  assert.equal((await wm.curl(wm.url('echo-v2', '/l7/v2'), [], { pod: 'c2' })).status, 200, 'the policies name echo-v1 only');
  assert.deepEqual(wm.seenSince(from).map((s) => s.url).sort(), ['/l7/ok', '/l7/v2'], 'denied requests never reached a backend');
  await wm.apply({ 'l7-policy.yaml': undefined }, (c) => ((c as unknown as { security?: { authorization?: unknown[] } }).security?.authorization ?? []).length === 0);
  assert.equal((await wm.curl(wm.url('echo-v1', '/l7/after'), [], { pod: 'c2' })).status, 200);
});

test('removing the policy lets direct traffic in again', async () => {
  wm.mesh.manifests.remove('only-waypoint.yaml');
  await wm.mesh.waitPolicies('node2', 0);
  const r = await direct();
  assert.equal(r.status, 200, r.error);
  assert.equal(echoed(r)!.pod, 's1');
});
