// Protocols through the waypoint end to end: gRPC (grpc-js from the client pod, h2c to the backend,
// trailers), GRPCRoute method/header matches, WebSocket upgrade, HTTP/2 prior knowledge on an HTTP
// port, and an opaque TCP port relayed as bytes (TCPRoute weights), with the waypoint's records.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { WaypointMesh, WAYPOINT_IDENTITY, echoed } from '../helpers/waypoint-mesh.js';
import { ECHO_PORTS, backend, routeYaml, serviceParent } from '../helpers/waypoint-manifests.js';
import { GRPC_SERVICE } from '../helpers/pod-grpc-echo.js';
import { spiffeOf } from '../helpers/inpod-manifests.js';
import type { LogLine } from '../helpers/agent-process.js';

let wm: WaypointMesh;

before(async () => {
  requireRoot('the waypoint protocol tests');
  wm = await WaypointMesh.start();
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

const grpcTarget = (svc: 'echo' | 'echo-v1' | 'echo-v2' = 'echo') => `${wm.vip(svc)}:${ECHO_PORTS.grpc}`;

async function waypointLine(pred: (l: LogLine) => boolean): Promise<LogLine> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const l = wm.waypoint.lines.find(pred);
    if (l) return l;
    if (Date.now() > deadline) throw new Error('no such waypoint log line');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('gRPC without a route: unary calls reach the service, metadata in, trailers and grpc-status out', async () => {
  await wm.setRoutes(undefined, { 'echo:9090': [] });
  const r = await wm.grpc(grpcTarget('echo-v1'), 'Echo', { msg: 'hi' }, { 'x-caller': 'c1' });
  assert.equal(r.code, 0, r.details);
  assert.equal(r.reply?.pod, 's1');
  assert.deepEqual(r.reply?.message, { msg: 'hi' });
  assert.equal((r.reply?.metadata as Record<string, string>)['x-caller'], 'c1');
  assert.equal(r.trailers['x-pod'], 's1', 'the backend trailers reach the client');
  const fail = await wm.grpc(grpcTarget('echo-v1'), 'Fail', { code: 5, details: 'nothing here' });
  assert.equal(fail.code, 5);
  assert.equal(fail.details, 'nothing here');
  const line = await waypointLine((l) => l.msg === 'request complete' && l.path === `/${GRPC_SERVICE}/Fail`);
  assert.equal(line.protocol, 'grpc');
  assert.equal(line.response_code, 200);
  assert.equal(line.grpc_status, 5);
  const m = await wm.waypoint.metrics();
  assert.equal(metricSum(m, 'istio_requests_total', { reporter: 'waypoint', request_protocol: 'grpc', grpc_response_status: '5', destination_workload: 's1' }), 1);
  assert.equal(metricSum(m, 'istio_requests_total', { reporter: 'waypoint', request_protocol: 'grpc', grpc_response_status: '0', response_code: '200' }), 1);
});

test('GRPCRoute: service/method and header matches pick the version; an unmatched method is UNIMPLEMENTED (12)', async () => {
  const grpcParent = serviceParent('echo', ECHO_PORTS.grpc);
  await wm.setRoutes(
    routeYaml('GRPCRoute', 'grpc-methods', [grpcParent], [
      { matches: [{ method: { service: GRPC_SERVICE, method: 'Echo' } }], backendRefs: [backend('echo-v1', ECHO_PORTS.grpc)] },
      { matches: [{ method: { service: GRPC_SERVICE, method: 'Fail' }, headers: [{ name: 'x-to', value: 'v2' }] }], backendRefs: [backend('echo-v2', ECHO_PORTS.grpc)] },
    ]),
    { 'echo:9090': ['grpc-methods'] },
  );
  for (let i = 0; i < 4; i++) {
    const r = await wm.grpc(grpcTarget(), 'Echo', { i });
    assert.equal(r.code, 0, r.details);
    assert.equal(r.reply?.pod, 's1');
  }
  const from = wm.mark();
  const v2 = await wm.grpc(grpcTarget(), 'Fail', { code: 9, details: 'v2 failed' }, { 'x-to': 'v2' });
  assert.equal(v2.code, 9);
  assert.equal(v2.details, 'v2 failed');
  assert.deepEqual(wm.seenSince(from).map((s) => [s.event, s.pod, s.url]), [['grpc', 's2', `/${GRPC_SERVICE}/Fail`]]);
  const none = await wm.grpc(grpcTarget(), 'Fail', { code: 9 });
  assert.equal(none.code, 12, `no rule matches: ${JSON.stringify(none)}`);
  assert.equal(wm.seenSince(from).length, 1, 'the unmatched call reached no backend');
  const line = await waypointLine((l) => l.msg === 'request complete' && l.grpc_status === 12);
  assert.equal(line.response_code, 200);
  assert.equal(line.response_flags, 'NR');
});

test('WebSocket through the waypoint: the upgrade is routed (PathPrefix /ws → echo-v2), frames flow both ways', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'ws', [serviceParent('echo', 80)], [
      { matches: [{ path: { type: 'PathPrefix', value: '/ws' } }], backendRefs: [backend('echo-v2', 80)] },
      { backendRefs: [backend('echo-v1', 80)] },
    ]),
    { 'echo:80': ['ws'] },
  );
  const from = wm.mark();
  const r = await wm.webSocket(wm.vip('echo'), 80, '/ws/chat', ['hello', 'second message', 'x'.repeat(300)]);
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.equal(r.status, 101);
  assert.equal(r.acceptOk, true);
  assert.deepEqual(r.replies, ['s2:hello', 's2:second message', `s2:${'x'.repeat(300)}`]);
  assert.equal(r.closed, true, 'the close handshake made it back');
  const seen = wm.seenSince(from).filter((s) => s.event === 'websocket');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.pod, 's2');
  assert.deepEqual(seen[0]!.headers.upgrade, ['websocket']);
  // The default rule sends other paths' upgrades to v1.
  const other = await wm.webSocket(wm.vip('echo'), 80, '/chat', ['hi']);
  assert.deepEqual(other.replies, ['s1:hi']);
});

test('HTTP/2 prior knowledge on the HTTP port: the waypoint speaks h2 to the client and HTTP/1.1 to the backend', async () => {
  await wm.setRoutes(undefined, { 'echo:80': [] });
  const r = await wm.curl(wm.url('echo-v2', '/h2?x=1'), ['--http2-prior-knowledge']);
  assert.equal(r.exit, 0, r.error);
  assert.equal(r.status, 200);
  const s = echoed(r)!;
  assert.equal(s.pod, 's2');
  assert.equal(s.url, '/h2?x=1');
  assert.equal(s.httpVersion, '1.1');
});

test('h2load: 2,000 HTTP/2 requests over 4 connections × 16 concurrent streams, all 200, every one seen by a backend', async () => {
  await wm.setRoutes(undefined, { 'echo:80': [] });
  const from = wm.mark();
  const r = await wm.exec('c1', ['h2load', '-n', '2000', '-c', '4', '-m', '16', wm.url('echo', '/h2load')], 120_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/);
  assert.match(r.stdout, /status codes: 2000 2xx/);
  const seen = await wm.waitSeen(from, (s) => s.url === '/h2load', 2000);
  assert.equal(seen.length, 2000);
  assert.deepEqual([...new Set(seen.map((s) => s.pod))].sort(), ['s1', 's2']);
});

test('an opaque TCP port is relayed as bytes (an HTTP request comes back verbatim), TCPRoute weights pick the backend', async () => {
  await wm.setRoutes(undefined, { 'echo:9000': [] });
  const req = `GET /not-parsed HTTP/1.1\r\nHost: x\r\n\r\n${randomBytes(8).toString('hex')}`;
  const r = await wm.tcp(wm.vip('echo'), ECHO_PORTS.tcp, req);
  assert.equal(r.code, 0, r.error);
  assert.equal(r.received, req, 'echoed byte for byte: no HTTP processing on a tcp port');
  const line = await waypointLine((l) => l.msg === 'connection complete' && l['dst.service'] === 'echo.demo.svc.cluster.local');
  assert.equal(line['src.identity'], spiffeOf('client'));
  assert.ok(['s1', 's2'].includes(line['dst.workload'] as string));

  await wm.setRoutes(
    routeYaml('TCPRoute', 'tcp-to-v2', [serviceParent('echo', ECHO_PORTS.tcp)], [{ backendRefs: [backend('echo-v2', ECHO_PORTS.tcp, 1), backend('echo-v1', ECHO_PORTS.tcp, 0)] }]),
    { 'echo:9000': [] },
  );
  // A TCPRoute compiles into the port's tcpBackends, not its routes: wait for those.
  await wm.apply({}, (c) => JSON.stringify(c.services.find((s) => s.hostname.startsWith('echo.'))?.ports.find((p) => p.port === 9000)).includes('tcpBackends'));
  const before = wm.waypoint.lines.length;
  for (let i = 0; i < 6; i++) assert.equal((await wm.tcp(wm.vip('echo'), ECHO_PORTS.tcp, `ping-${i}`)).received, `ping-${i}`);
  await new Promise((res) => setTimeout(res, 300));
  const lines = wm.waypoint.lines.slice(before).filter((l) => l.msg === 'connection complete');
  assert.equal(lines.length, 6);
  assert.deepEqual([...new Set(lines.map((l) => l['dst.workload']))], ['s2']);
  const m = await wm.waypoint.metrics();
  assert.ok(metricSum(m, 'istio_tcp_connections_opened_total', { reporter: 'waypoint', destination_workload: 's2', source_principal: spiffeOf('client') }) >= 6);
  assert.ok(metricSum(m, 'istio_tcp_received_bytes_total', { reporter: 'waypoint', destination_workload: 's2' }) >= 6 * 'ping-0'.length);
  // The server's node agent saw the waypoint as the source of those connections.
  const inbound = wm.mesh.agent('node2').lines.filter((l) => l.msg === 'connection complete' && l.direction === 'inbound' && String(l['dst.hbone_addr'] ?? '').endsWith(':9000'));
  assert.ok(inbound.length >= 6, `inbound 9000 lines on node2: ${inbound.length}`);
  assert.ok(inbound.every((l) => l['src.identity'] === WAYPOINT_IDENTITY));
});
