// Waypoint routing end to end: a client pod's curl goes client agent → waypoint → server agent → s1
// (v1) or s2 (v2). HBONE on the wire to the waypoint, path/header/query/method matches, precedence,
// no match ⇒ 404, no route ⇒ the service itself, invalid backend ⇒ 500, weights over 1,000 requests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { captureWire, synDestinations } from '../helpers/wire-capture.js';
import { spiffeOf } from '../helpers/inpod-manifests.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { WaypointMesh, WAYPOINT_IDENTITY, echoed, type CurlResult } from '../helpers/waypoint-mesh.js';
import { backend, routeYaml, serviceParent, waypointYaml } from '../helpers/waypoint-manifests.js';
import type { LogLine } from '../helpers/agent-process.js';
import type { NodeName } from '../helpers/cp-inpod-mesh.js';

let wm: WaypointMesh;

before(async () => {
  requireRoot('the waypoint routing tests');
  wm = await WaypointMesh.start();
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

const ECHO = serviceParent('echo', 80);
const toV1 = [backend('echo-v1', 80)];
const toV2 = [backend('echo-v2', 80)];

/** Which server answered (the echo body's pod), or `<status>` for anything else. */
function who(r: CurlResult): string {
  assert.equal(r.exit, 0, `curl failed: ${r.error}`);
  return r.status === 200 ? (echoed(r)?.pod ?? `200 without echo: ${r.body}`) : String(r.status);
}

async function answers(paths: readonly (string | [string, string[]])[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of paths) {
    const [path, args] = typeof p === 'string' ? [p, []] : p;
    out[typeof p === 'string' ? p : `${args.join(' ')} ${path}`] = who(await wm.curl(wm.url('echo', path), args));
  }
  return out;
}

/**
 * An agent logs a connection when it completes: the waypoint's pooled upstream connection to a
 * server completes when the app closes it (Node's keep-alive timeout, 5 s), hence the 15 s.
 */
async function waitLine(node: NodeName, pred: (l: LogLine) => boolean): Promise<LogLine> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const line = wm.mesh.agent(node).lines.find((l) => l.msg === 'connection complete' && pred(l));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no access line on ${node} matching`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('client agent → waypoint → server agent → a server: HBONE to the waypoint on the wire, the server sees the waypoint', async () => {
  const c1 = wm.topo.pods.get('c1')!;
  const wp = wm.topo.pods.get('wp')!;
  const from = wm.mark();
  const cap = await captureWire(c1.veth, c1.ip, () => wm.curl(wm.url('echo', '/via-waypoint-secret')));
  const r = cap.result;
  assert.equal(r.status, 200, r.error || r.body);
  const seen = echoed(r)!;
  assert.ok(['s1', 's2'].includes(seen.pod));
  assert.equal(seen.url, '/via-waypoint-secret');
  assert.equal(seen.client, wm.ip('wp'), 'the server is reached from the waypoint, not from the client');
  assert.equal(seen.headers['x-forwarded-proto']?.[0], 'http');
  assert.match(seen.headers['x-request-id']?.[0] ?? '', /^[0-9a-f-]{36}$/);
  // The client's connection leaves its pod only as HBONE to the waypoint: nothing in clear, nothing to the VIP.
  assert.deepEqual(synDestinations(cap.packets), [`${wm.ip('wp')}:15008`]);
  assert.equal(cap.raw.includes(Buffer.from('via-waypoint-secret')), false, 'the request is not visible in clear');
  assert.equal(wm.seenSince(from).length, 1, 'one request reached a backend');

  // The waypoint dials the server pod's node agent over HBONE on 15008 as itself.
  const cap2 = await captureWire(wp.veth, wp.ip, () => wm.curl(wm.url('echo-v1', '/second')));
  assert.equal(cap2.result.status, 200);
  assert.ok(synDestinations(cap2.packets).every((d) => d.endsWith(':15008')), `only HBONE: ${synDestinations(cap2.packets).join()}`);

  // Client agent: outbound to the waypoint (destination = the waypoint workload, service = echo).
  const out = await waitLine('node1', (l) => l.direction === 'outbound' && l['dst.service'] === 'echo.demo.svc.cluster.local');
  assert.equal(out['src.workload'], 'c1');
  assert.equal(out['dst.workload'], 'wp');
  assert.equal(out['dst.identity'], WAYPOINT_IDENTITY);
  assert.equal(out['dst.addr'], `${wm.ip('wp')}:15008`);
  assert.equal(out['dst.hbone_addr'], `${wm.vip('echo')}:80`, 'the CONNECT authority is the original destination');
  // Server agent: inbound from the waypoint, accepted. The waypoint keeps its upstream connections
  // pooled (as Envoy: keep-alive, idle timeout 1 h), so the server agent's connection stays open
  // until the echo server's keep-alive timeout and has no `connection complete` line yet: its
  // opened counter tells.
  const fromWaypoint = { reporter: 'destination', source_workload: 'wp', source_principal: WAYPOINT_IDENTITY, destination_principal: spiffeOf('server'), connection_security_policy: 'mutual_tls' };
  const deadline = Date.now() + 10_000;
  let opened: Record<string, number> = {};
  for (;;) {
    const m = await wm.mesh.agent('node2').metrics();
    opened = Object.fromEntries(['s1', 's2'].map((w) => [w, metricSum(m, 'istio_tcp_connections_opened_total', { ...fromWaypoint, destination_workload: w })]));
    if (opened.s1! > 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(opened.s1! > 0, `server agent: waypoint → s1 (echo-v1) accepted: ${JSON.stringify(opened)}`);
});

test('no route ⇒ the service itself: echo-v1 always s1, echo load-balanced over s1 and s2', async () => {
  await wm.setRoutes(undefined, { 'echo:80': [], 'echo-v1:80': [] });
  const v1 = new Set<string>();
  for (let i = 0; i < 10; i++) v1.add(who(await wm.curl(wm.url('echo-v1', `/plain-${i}`))));
  assert.deepEqual([...v1], ['s1']);
  const both = new Set<string>();
  for (let i = 0; i < 40 && both.size < 2; i++) both.add(who(await wm.curl(wm.url('echo', `/lb-${i}`))));
  assert.deepEqual([...both].sort(), ['s1', 's2']);
});

test('path matches: Exact, PathPrefix (element-wise), RegularExpression; the query is not part of the path', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'paths', [ECHO], [
      { matches: [{ path: { type: 'Exact', value: '/exact' } }], backendRefs: toV1 },
      { matches: [{ path: { type: 'PathPrefix', value: '/prefix' } }], backendRefs: toV2 },
      { matches: [{ path: { type: 'RegularExpression', value: '/re/[0-9]+' } }], backendRefs: toV1 },
    ]),
    { 'echo:80': ['paths'] },
  );
  assert.deepEqual(await answers(['/exact', '/exact?x=1', '/exact/', '/exact/more', '/prefix', '/prefix/', '/prefix/a/b', '/prefixx', '/re/123', '/re/12a', '/other']), {
    '/exact': 's1', '/exact?x=1': 's1', '/exact/': '404', '/exact/more': '404',
    '/prefix': 's2', '/prefix/': 's2', '/prefix/a/b': 's2', '/prefixx': '404',
    '/re/123': 's1', '/re/12a': '404', '/other': '404',
  });
  // One keep-alive connection, several requests: each is routed on its own.
  const urls = ['/exact', '/prefix/a', '/exact', '/nope', '/re/7'].map((p) => wm.url('echo', p));
  const r = await wm.exec('c1', ['curl', '-sS', '--max-time', '10', ...urls.flatMap((u) => ['-o', '/dev/null', '-w', '%{http_code} %header{x-pod} %{num_connects}\\n', u])]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['200 s1 1', '200 s2 0', '200 s1 0', '404  0', '200 s1 0'], 'one connection (num_connects 1 then 0), per-request routing');
});

test('header, query parameter and method matches', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'attrs', [ECHO], [
      { matches: [{ headers: [{ name: 'x-tier', value: 'gold' }] }], backendRefs: toV2 },
      { matches: [{ headers: [{ type: 'RegularExpression', name: 'x-user', value: 'adm.*' }] }], backendRefs: toV2 },
      { matches: [{ queryParams: [{ name: 'v', value: '2' }] }], backendRefs: toV2 },
      { matches: [{ method: 'POST' }], backendRefs: toV2 },
      { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: toV1 },
    ]),
    { 'echo:80': ['attrs'] },
  );
  assert.deepEqual(await answers([
    '/a',
    ['/a', ['-H', 'x-tier: gold']],
    ['/a', ['-H', 'X-TIER: gold']],
    ['/a', ['-H', 'x-tier: GOLD']],
    ['/a', ['-H', 'x-user: admin']],
    ['/a', ['-H', 'x-user: root']],
    '/a?v=2',
    '/a?v=3',
    '/a?V=2',
    '/a?w=1&v=2',
    ['/a', ['-X', 'POST', '--data-binary', 'payload']],
    ['/a', ['-X', 'PUT', '--data-binary', 'payload']],
  ]), {
    '/a': 's1',
    '-H x-tier: gold /a': 's2',
    '-H X-TIER: gold /a': 's2',
    '-H x-tier: GOLD /a': 's1',
    '-H x-user: admin /a': 's2',
    '-H x-user: root /a': 's1',
    '/a?v=2': 's2',
    '/a?v=3': 's1',
    '/a?V=2': 's1',
    '/a?w=1&v=2': 's2',
    '-X POST --data-binary payload /a': 's2',
    '-X PUT --data-binary payload /a': 's1',
  });
  const post = echoed(await wm.curl(wm.url('echo', '/body'), ['-X', 'POST', '--data-binary', 'hello body']))!;
  assert.deepEqual([post.pod, post.method, post.body], ['s2', 'POST', 'hello body'], 'the body reaches the backend');
});

test('precedence: Exact > longer prefix > shorter prefix, method and header count break ties, then route name', async () => {
  await wm.setRoutes(
    [
      routeYaml('HTTPRoute', 'prec-a', [ECHO], [
        { matches: [{ path: { type: 'PathPrefix', value: '/p' } }], backendRefs: toV1 },
        { matches: [{ path: { type: 'PathPrefix', value: '/p/longer' } }], backendRefs: toV2 },
        { matches: [{ path: { type: 'PathPrefix', value: '/m' } }], backendRefs: toV1 },
        { matches: [{ path: { type: 'PathPrefix', value: '/h' }, headers: [{ name: 'x-a', value: '1' }] }], backendRefs: toV1 },
        { matches: [{ path: { type: 'PathPrefix', value: '/same' } }], backendRefs: toV1 },
      ]),
      routeYaml('HTTPRoute', 'prec-b', [ECHO], [
        { matches: [{ path: { type: 'Exact', value: '/p/longer/x' } }], backendRefs: toV1 },
        { matches: [{ path: { type: 'PathPrefix', value: '/m' }, method: 'GET' }], backendRefs: toV2 },
        { matches: [{ path: { type: 'PathPrefix', value: '/h' }, headers: [{ name: 'x-a', value: '1' }, { name: 'x-b', value: '1' }] }], backendRefs: toV2 },
        { matches: [{ path: { type: 'PathPrefix', value: '/same' } }], backendRefs: toV2 },
      ]),
    ].join('---\n'),
    { 'echo:80': ['prec-a', 'prec-b'] },
  );
  assert.deepEqual(await answers([
    '/p/x', '/p/longer/y', '/p/longer/x',
    '/m', ['/m', ['-X', 'DELETE']],
    ['/h', ['-H', 'x-a: 1']], ['/h', ['-H', 'x-a: 1', '-H', 'x-b: 1']], '/h',
    '/same',
  ]), {
    '/p/x': 's1', '/p/longer/y': 's2', '/p/longer/x': 's1',
    '/m': 's2', '-X DELETE /m': 's1',
    '-H x-a: 1 /h': 's1', '-H x-a: 1 -H x-b: 1 /h': 's2', '/h': '404',
    '/same': 's1',
  });
});

test('invalid backend ⇒ 500 for its share; no backendRefs ⇒ 500; the backends see none of those requests', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'invalid', [ECHO], [
      { matches: [{ path: { type: 'PathPrefix', value: '/missing' } }], backendRefs: [backend('no-such-service', 80)] },
      { matches: [{ path: { type: 'PathPrefix', value: '/half' } }], backendRefs: [backend('no-such-service', 80, 1), backend('echo-v1', 80, 1)] },
      { matches: [{ path: { type: 'PathPrefix', value: '/none' } }] },
    ]),
    { 'echo:80': ['invalid'] },
  );
  const from = wm.mark();
  assert.equal(who(await wm.curl(wm.url('echo', '/missing'))), '500');
  assert.equal(who(await wm.curl(wm.url('echo', '/none'))), '500');
  assert.equal(wm.seenSince(from).length, 0);
  const half = await wm.hey(wm.url('echo', '/half'), 200, 4);
  // Two equal weights: binomial(200, ½) has σ ≈ 7; ±35 is 5σ.
  const ok = half.statuses[200] ?? 0;
  assert.equal(ok + (half.statuses[500] ?? 0), 200, JSON.stringify(half));
  assert.ok(ok >= 65 && ok <= 135, `share of the valid backend: ${ok}/200`);
  assert.equal(wm.seenSince(from, '/half').length, ok, 'exactly the 200s reached s1');
  assert.ok(wm.seenSince(from, '/half').every((s) => s.pod === 's1'));
});

test('weighted backendRefs 80/20: 1,000 requests land within ±5 points (4σ) of the weights, counted at the backends', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'weights', [ECHO], [{ backendRefs: [backend('echo-v1', 80, 80), backend('echo-v2', 80, 20)] }]),
    { 'echo:80': ['weights'] },
  );
  const from = wm.mark();
  const r = await wm.hey(wm.url('echo', '/weights'), 1000, 10);
  assert.deepEqual(r.statuses, { 200: 1000 }, r.errors.join('\n'));
  const seen = await wm.waitSeen(from, (s) => s.url === '/weights', 1000);
  const v1 = seen.filter((s) => s.pod === 's1').length;
  // binomial(1000, 0.8): σ = √(1000·0.8·0.2) ≈ 12.6; ±50 requests = ±5 points ≈ 4σ.
  assert.ok(v1 >= 750 && v1 <= 850, `s1 got ${v1} of 1000 (expected 800 ± 50)`);
  assert.equal(seen.length, 1000);
  // Weight 0 is never picked.
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'weights-zero', [ECHO], [{ backendRefs: [backend('echo-v1', 80, 0), backend('echo-v2', 80, 1)] }]),
    { 'echo:80': ['weights-zero'] },
  );
  const from2 = wm.mark();
  const r2 = await wm.hey(wm.url('echo', '/zero'), 100, 4);
  assert.deepEqual(r2.statuses, { 200: 100 });
  assert.deepEqual([...new Set(wm.seenSince(from2, '/zero').map((s) => s.pod))], ['s2']);
});

test('istio.io/waypoint-for: all — pod-IP traffic goes through the waypoint too and stays with that pod, routes notwithstanding', async () => {
  await wm.setRoutes(routeYaml('HTTPRoute', 'all-to-v2', [serviceParent('echo', 80), serviceParent('echo-v1', 80)], [{ backendRefs: toV2 }]), { 'echo:80': ['all-to-v2'], 'echo-v1:80': ['all-to-v2'] });
  const forAll = waypointYaml(wm.addresses).replace('istio.io/waypoint-for: service', 'istio.io/waypoint-for: all');
  assert.notEqual(forAll, waypointYaml(wm.addresses));
  wm.mesh.manifests.write('waypoint.yaml', forAll);
  try {
    // The client's agent learns that s1 (the workload) now has the waypoint too.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const dump = await wm.mesh.agent('node1').configDump();
      if ((dump.workloads as Array<{ name: string; waypoint?: unknown }>).find((w) => w.name === 's1')?.waypoint) break;
      if (Date.now() > deadline) throw new Error('s1 never got the waypoint');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(who(await wm.curl(wm.url('echo', '/by-vip'))), 's2', 'service traffic follows the route');
    for (let i = 0; i < 6; i++) {
      const r = await wm.curl(`http://${wm.ip('s1')}:8080/by-pod-ip/${i}`);
      assert.equal(who(r), 's1', 'pod-addressed traffic is not routed');
      assert.equal(echoed(r)!.client, wm.ip('wp'), 'it went through the waypoint');
    }
  } finally {
    wm.mesh.manifests.write('waypoint.yaml', waypointYaml(wm.addresses));
  }
});
