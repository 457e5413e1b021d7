// Waypoint telemetry end to end: istio_requests_total and the request histograms scraped from the
// waypoint's stats port (labels of the client and the chosen server), its access log, trace context
// seen by the backend, and both node agents' L4 view (client → waypoint, waypoint → server).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { spiffeOf } from '../helpers/inpod-manifests.js';
import { WaypointMesh, WAYPOINT_IDENTITY, echoed } from '../helpers/waypoint-mesh.js';
import { backend, routeYaml, serviceParent } from '../helpers/waypoint-manifests.js';
import type { LogLine } from '../helpers/agent-process.js';

let wm: WaypointMesh;

before(async () => {
  requireRoot('the waypoint telemetry tests');
  wm = await WaypointMesh.start();
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'telemetry', [serviceParent('echo-v1', 80)], [
      { matches: [{ path: { type: 'PathPrefix', value: '/ok' } }], backendRefs: [backend('echo-v1', 80)] },
      { matches: [{ path: { type: 'PathPrefix', value: '/retry' } }], retry: { attempts: 1, codes: [503], backoff: '10ms' }, backendRefs: [backend('echo-v1', 80)] },
    ]),
    { 'echo-v1:80': ['telemetry'] },
  );
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

const V1 = 'echo-v1.demo.svc.cluster.local';
/** The labels every waypoint series of a c1 → echo-v1 request carries. */
const C1_TO_V1 = {
  reporter: 'waypoint',
  source_workload: 'c1',
  source_workload_namespace: 'demo',
  source_principal: spiffeOf('client'),
  source_app: 'client',
  destination_service: V1,
  destination_service_name: 'echo-v1',
  destination_service_namespace: 'demo',
  connection_security_policy: 'mutual_tls',
  request_protocol: 'http',
};
const AT_S1 = { destination_workload: 's1', destination_workload_namespace: 'demo', destination_principal: spiffeOf('server'), destination_app: 'echo', destination_version: 'v1' };

async function accessLines(pred: (l: LogLine) => boolean, n = 1): Promise<LogLine[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const got = wm.waypoint.lines.filter((l) => l.msg === 'request complete' && pred(l));
    if (got.length >= n) return got;
    if (Date.now() > deadline) throw new Error(`${got.length} of ${n} access lines`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('istio_requests_total{reporter="waypoint"}: client and chosen server labels, codes and flags (200 -, 404 NR, 503 URX); histograms count the same requests', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await wm.curl(wm.url('echo-v1', `/ok/${i}`))).status, 200);
  assert.equal((await wm.curl(wm.url('echo-v1', '/nowhere'))).status, 404);
  assert.equal((await wm.curl(wm.url('echo-v1', '/retry?status=503'))).status, 503);
  const m = await wm.waypoint.metrics();
  const ok = { ...C1_TO_V1, ...AT_S1, response_code: '200', response_flags: '-', grpc_response_status: '' };
  assert.equal(metricSum(m, 'istio_requests_total', ok), 5);
  assert.equal(metricSum(m, 'istio_request_duration_milliseconds_count', ok), 5);
  assert.equal(metricSum(m, 'istio_request_bytes_count', ok), 5);
  assert.equal(metricSum(m, 'istio_response_bytes_count', ok), 5);
  assert.ok(metricSum(m, 'istio_response_bytes_sum', ok) > 5 * 100, 'the JSON bodies were counted');
  // No route matched: no upstream, so destination_workload is unknown.
  assert.equal(metricSum(m, 'istio_requests_total', { ...C1_TO_V1, response_code: '404', response_flags: 'NR', destination_workload: 'unknown' }), 1);
  assert.equal(metricSum(m, 'istio_requests_total', { ...C1_TO_V1, ...AT_S1, response_code: '503', response_flags: 'URX' }), 1);
  assert.match(m, /istio_build\{[^}]*\} 1/);
  // Another client pod, another service account: the waypoint tells them apart.
  assert.equal((await wm.curl(wm.url('echo-v1', '/ok/from-c2'), [], { pod: 'c2' })).status, 200);
  const m2 = await wm.waypoint.metrics();
  assert.equal(metricSum(m2, 'istio_requests_total', { ...ok, source_workload: 'c2', source_principal: spiffeOf('other'), source_app: 'other' }), 1);
  assert.equal(metricSum(m2, 'istio_requests_total', ok), 5, 'c1 series unchanged');
});

test('access log: one line per request with the peers, route, cluster, ids and sizes; the backend saw the same request id and trace', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const r = await wm.curl(wm.url('echo-v1', '/ok/logged?q=1'), ['-H', `traceparent: 00-${traceId}-00f067aa0ba902b7-01`, '-H', 'user-agent: telemetry-test']);
  assert.equal(r.status, 200);
  const seen = echoed(r)!;
  const [line] = await accessLines((l) => l.path === '/ok/logged');
  assert.equal(line!['src.workload'], 'c1');
  assert.equal(line!['src.identity'], spiffeOf('client'));
  assert.match(String(line!['src.addr']), new RegExp(`^${wm.ip('c1').replace(/\./g, '\\.')}:\\d+$`));
  assert.equal(line!['dst.workload'], 's1');
  assert.equal(line!['dst.identity'], spiffeOf('server'));
  assert.equal(line!['dst.addr'], `${wm.ip('s1')}:8080`);
  assert.equal(line!['dst.service'], V1);
  assert.equal(line!.method, 'GET');
  assert.equal(line!.protocol, 'http');
  assert.equal(line!.authority, wm.vip('echo-v1'));
  assert.equal(line!.response_code, 200);
  assert.equal(line!.response_flags, '-');
  assert.equal(line!.route_name, 'demo/telemetry.r0.m0');
  assert.equal(line!.upstream_cluster, `outbound|80||${V1}`);
  assert.equal(line!.attempts, 1);
  assert.equal(line!.user_agent, 'telemetry-test');
  assert.equal(line!.bytes_sent, Buffer.byteLength(r.body));
  assert.match(String(line!.duration), /^\d+(\.\d+)?ms$/);
  // Ids: the backend got the request id the line names, and the client's trace with the waypoint's span as parent.
  assert.equal(seen.headers['x-request-id']?.[0], line!.request_id);
  assert.equal(line!.trace_id, traceId);
  assert.deepEqual(seen.headers.traceparent, [`00-${traceId}-${String(line!.span_id)}-01`]);

  // The access target can be silenced at runtime; metrics go on.
  const admin = `http://${wm.ip('wp')}:15000`;
  assert.equal((await fetch(`${admin}/logging?level=access=off`, { method: 'POST' })).status, 200);
  const before = wm.waypoint.lines.length;
  const m0 = metricSum(await wm.waypoint.metrics(), 'istio_requests_total', { ...C1_TO_V1, response_code: '200' });
  assert.equal((await wm.curl(wm.url('echo-v1', '/ok/silent'))).status, 200);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(wm.waypoint.lines.slice(before).filter((l) => l.msg === 'request complete').length, 0);
  assert.equal(metricSum(await wm.waypoint.metrics(), 'istio_requests_total', { ...C1_TO_V1, response_code: '200' }), m0 + 1);
  assert.equal((await fetch(`${admin}/logging?level=access=info`, { method: 'POST' })).status, 200);
});

test("node agents' view: the client agent reports the waypoint as destination (service echo-v1), the server agent the waypoint as source", async () => {
  assert.equal((await wm.curl(wm.url('echo-v1', '/ok/l4'))).status, 200);
  const deadline = Date.now() + 5_000;
  let client = 0;
  let server = 0;
  while (Date.now() < deadline) {
    client = metricSum(await wm.mesh.agent('node1').metrics(), 'istio_tcp_connections_opened_total', {
      reporter: 'source', source_workload: 'c1', source_principal: spiffeOf('client'),
      destination_workload: 'wp', destination_principal: WAYPOINT_IDENTITY, destination_service: V1,
    });
    server = metricSum(await wm.mesh.agent('node2').metrics(), 'istio_tcp_connections_opened_total', {
      reporter: 'destination', source_workload: 'wp', source_principal: WAYPOINT_IDENTITY,
      destination_workload: 's1', destination_principal: spiffeOf('server'), connection_security_policy: 'mutual_tls',
    });
    if (client > 0 && server > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(client > 0, 'client agent: c1 → waypoint');
  assert.ok(server > 0, 'server agent: waypoint → s1');
});
