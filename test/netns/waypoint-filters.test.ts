// Waypoint filters end to end (client pod curl → client agent → waypoint → server agent → s1/s2):
// request and response header modifiers (rule and backendRef), redirects, URL rewrites and mirrors,
// each checked by the status and headers the client sees and what the backends received.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { WaypointMesh, echoed } from '../helpers/waypoint-mesh.js';
import { backend, routeYaml, serviceParent } from '../helpers/waypoint-manifests.js';

let wm: WaypointMesh;

before(async () => {
  requireRoot('the waypoint filter tests');
  wm = await WaypointMesh.start();
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

const ECHO = serviceParent('echo', 80);
const prefix = (value: string) => [{ path: { type: 'PathPrefix', value } }];

test('RequestHeaderModifier: set replaces, add appends a field line, remove drops; backendRef filters apply too', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'req-headers', [ECHO], [
      {
        matches: prefix('/rh'),
        filters: [{
          type: 'RequestHeaderModifier',
          requestHeaderModifier: { set: [{ name: 'X-Set', value: 'new' }], add: [{ name: 'x-add', value: 'added' }], remove: ['x-remove'] },
        }],
        backendRefs: [{ ...backend('echo-v1', 80), filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-backend', value: 'v1-only' }] } }] }],
      },
    ]),
    { 'echo:80': ['req-headers'] },
  );
  const r = await wm.curl(wm.url('echo', '/rh'), ['-H', 'x-set: old', '-H', 'x-add: orig', '-H', 'x-remove: gone', '-H', 'x-keep: kept']);
  assert.equal(r.status, 200, r.error || r.body);
  const h = echoed(r)!.headers;
  assert.equal(echoed(r)!.pod, 's1');
  assert.deepEqual(h['x-set'], ['new']);
  assert.deepEqual(h['x-add'], ['orig', 'added'], 'the added value is a second field line');
  assert.equal(h['x-remove'], undefined);
  assert.deepEqual(h['x-keep'], ['kept']);
  assert.deepEqual(h['x-backend'], ['v1-only']);
});

test('ResponseHeaderModifier: the client sees headers set, added and removed on the backend answer', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'resp-headers', [ECHO], [
      {
        matches: prefix('/resp'),
        filters: [{
          type: 'ResponseHeaderModifier',
          responseHeaderModifier: { set: [{ name: 'x-version', value: 'overridden' }], add: [{ name: 'x-extra', value: 'one' }, { name: 'x-multi', value: 'from-route' }], remove: ['x-pod'] },
        }],
        backendRefs: [backend('echo-v1', 80)],
      },
    ]),
    { 'echo:80': ['resp-headers'] },
  );
  // The backend adds x-multi itself (?header=): `add` appends, it does not replace.
  const r = await wm.curl(wm.url('echo', '/resp?header=x-multi:from-backend'));
  assert.equal(r.status, 200, r.error || r.body);
  assert.deepEqual(r.headers['x-version'], ['overridden']);
  assert.deepEqual(r.headers['x-extra'], ['one']);
  assert.equal(r.headers['x-pod'], undefined);
  assert.deepEqual((r.headers['x-multi'] ?? []).join(',').split(/,\s*/), ['from-backend', 'from-route']);
  assert.equal(echoed(r)!.pod, 's1', 'the body is still the backend answer');
});

test('RequestRedirect: status, Location from scheme/hostname/port/path, query kept; nothing reaches a backend', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'redirects', [ECHO], [
      { matches: prefix('/full'), filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'new.example.com', path: { type: 'ReplaceFullPath', replaceFullPath: '/landing' }, statusCode: 301 } }] },
      { matches: prefix('/old'), filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } }] },
      { matches: prefix('/secure'), filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] },
      { matches: prefix('/port'), filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'alt.example', port: 8443 } }] },
    ]),
    { 'echo:80': ['redirects'] },
  );
  const from = wm.mark();
  const vip = wm.vip('echo');
  const cases: Array<[string, number, string]> = [
    ['/full/a?q=1', 301, 'http://new.example.com/landing?q=1'],
    ['/old/x/y?z=2', 302, `http://${vip}/new/x/y?z=2`],
    ['/secure/page', 301, `https://${vip}/secure/page`],
    ['/port/p', 302, 'http://alt.example:8443/port/p'],
  ];
  for (const [path, status, location] of cases) {
    const r = await wm.curl(wm.url('echo', path));
    assert.equal(r.status, status, `${path}: ${r.error || r.body}`);
    assert.deepEqual(r.headers.location, [location], path);
  }
  assert.equal(wm.seenSince(from).length, 0, 'redirects are answered by the waypoint');
});

test('URLRewrite: prefix and full-path rewrites and the Host rewrite are what the backend receives', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'rewrites', [ECHO], [
      {
        matches: prefix('/api'),
        filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'rewritten.example', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/backend' } } }],
        backendRefs: [backend('echo-v2', 80)],
      },
      { matches: prefix('/whole'), filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/replaced' } } }], backendRefs: [backend('echo-v2', 80)] },
      { matches: prefix('/strip'), filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }], backendRefs: [backend('echo-v2', 80)] },
    ]),
    { 'echo:80': ['rewrites'] },
  );
  const seen = async (path: string) => {
    const r = await wm.curl(wm.url('echo', path));
    assert.equal(r.status, 200, `${path}: ${r.error || r.body}`);
    const s = echoed(r)!;
    return { url: s.url, host: s.headers.host?.[0] };
  };
  assert.deepEqual(await seen('/api/v1/items?page=2'), { url: '/backend/v1/items?page=2', host: 'rewritten.example' });
  assert.deepEqual(await seen('/api'), { url: '/backend', host: 'rewritten.example' });
  assert.deepEqual(await seen('/whole/thing?x=1'), { url: '/replaced?x=1', host: wm.vip('echo') });
  assert.deepEqual(await seen('/strip/rest'), { url: '/rest', host: wm.vip('echo') });
  assert.deepEqual(await seen('/strip'), { url: '/', host: wm.vip('echo') });
});

test('RequestMirror: the mirror backend receives a copy (path, body), the client gets only the primary answer; 50 % mirrors about half', async () => {
  await wm.setRoutes(
    routeYaml('HTTPRoute', 'mirrors', [ECHO], [
      { matches: prefix('/mirror'), filters: [{ type: 'RequestMirror', requestMirror: { backendRef: backend('echo-v2', 80) } }], backendRefs: [backend('echo-v1', 80)] },
      { matches: prefix('/half'), filters: [{ type: 'RequestMirror', requestMirror: { backendRef: backend('echo-v2', 80), percent: 50 } }], backendRefs: [backend('echo-v1', 80)] },
    ]),
    { 'echo:80': ['mirrors'] },
  );
  const from = wm.mark();
  const r = await wm.curl(wm.url('echo', '/mirror/one?k=v'), ['-X', 'POST', '--data-binary', 'mirrored body']);
  assert.equal(r.status, 200, r.error || r.body);
  assert.equal(echoed(r)!.pod, 's1');
  const [copy] = await wm.waitSeen(from, (s) => s.pod === 's2' && s.url === '/mirror/one?k=v');
  assert.equal(copy!.method, 'POST');
  assert.equal(copy!.body, 'mirrored body');
  assert.equal(copy!.headers['x-request-id']?.[0], echoed(r)!.headers['x-request-id']?.[0], 'the copy carries the same request id');
  // Istio turns Envoy's `-shadow` Host suffix off (DISABLE_SHADOW_HOST_SUFFIX): the Host is the client's.
  assert.deepEqual(copy!.headers.host, [wm.vip('echo')]);
  assert.deepEqual(wm.seenSince(from).map((s) => s.pod).sort(), ['s1', 's2'], 'one primary, one copy');

  const from2 = wm.mark();
  const half = await wm.hey(wm.url('echo', '/half'), 200, 4);
  assert.deepEqual(half.statuses, { 200: 200 });
  // Mirrors are fire and forget: wait for the stragglers, then count. binomial(200, ½): σ ≈ 7; ±35 = 5σ.
  await new Promise((r2) => setTimeout(r2, 1000));
  const primaries = wm.seenSince(from2, '/half').filter((s) => s.pod === 's1').length;
  const copies = wm.seenSince(from2, '/half').filter((s) => s.pod === 's2').length;
  assert.equal(primaries, 200);
  assert.ok(copies >= 65 && copies <= 135, `mirrored ${copies} of 200`);
});
