// Waypoint data path, request routing: default route to the service endpoints, 404 without a
// match, header match, weighted backends, header modifiers, URL rewrite, redirect, invalid
// backends and services without endpoints; all over real HBONE, TLS and HTTP.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { clusterName, type Route, type RouteAction } from '../../src/waypoint/index.js';
import { DEFAULT_CLUSTER, HOST, HTTP_PORT, NS, VIP, baseCluster, seeded, seen, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

const V1 = clusterName(HOST, HTTP_PORT, 'v1');
const V2 = clusterName(HOST, HTTP_PORT, 'v2');

function route(name: string, match: Route['match'], action: RouteAction, extra: Partial<Route> = {}): Route {
  return { name, source: { kind: 'HTTPRoute', namespace: NS, name: 'r', rule: 0, match: 0 }, match, action, ...extra };
}
const fwd = (cluster: string, weight = 1): RouteAction => ({ kind: 'forward', backends: [{ cluster, weight }] });

describe('waypoint routing', () => {
  let rig: WaypointRig;
  const seed = seeded(42);
  before(async () => {
    rig = await startWaypointRig({ random: () => seed() });
  });
  after(async () => rig.close());

  const clusters = (): ReturnType<typeof baseCluster>[] => [
    baseCluster(DEFAULT_CLUSTER, HOST, HTTP_PORT),
    baseCluster(V1, HOST, HTTP_PORT, { subset: 'v1', workloadUids: [`Kubernetes//Pod/${NS}/reviews-v1`] }),
    baseCluster(V2, HOST, HTTP_PORT, { subset: 'v2', workloadUids: [`Kubernetes//Pod/${NS}/reviews-v2`] }),
    baseCluster(clusterName('empty.default.svc.cluster.local', 80), 'empty.default.svc.cluster.local', 80),
  ];

  it('forwards to the default cluster when no route is attached, reaching both versions', async () => {
    rig.config({});
    const agent = rig.agent();
    const who = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await rig.request({ path: `/hello?i=${i}`, agent });
      assert.equal(r.status, 200);
      who.add(String(r.headers['x-backend']));
      assert.equal(JSON.parse(r.body).url, `/hello?i=${i}`);
    }
    assert.deepEqual([...who].sort(), ['v1', 'v2']);
    const hit = rig.hits.at(-1)!;
    assert.equal(seen(hit, 'x-forwarded-proto')[0], 'http');
    assert.equal(seen(hit, 'x-request-id').length, 1);
  });

  it('answers 404 when routes exist and none matches', async () => {
    rig.config({ http: [route('only-foo', { path: { type: 'PathPrefix', value: '/foo' } }, fwd(V1))] }, clusters());
    assert.equal((await rig.request({ path: '/bar' })).status, 404);
    assert.equal((await rig.request({ path: '/foo/x' })).status, 200);
  });

  it('routes on a header match', async () => {
    rig.config({
      http: [
        route('jason', { headers: [{ name: 'end-user', type: 'Exact', value: 'jason' }] }, fwd(V2)),
        route('rest', {}, fwd(V1)),
      ],
    }, clusters());
    for (let i = 0; i < 4; i++) {
      assert.equal((await rig.request({ path: '/', headers: { 'end-user': 'jason' } })).headers['x-backend'], 'v2');
      assert.equal((await rig.request({ path: '/' })).headers['x-backend'], 'v1');
    }
  });

  it('splits 90/10 by weight over 1000 requests within ±4 points', async () => {
    rig.config({ http: [route('split', {}, { kind: 'forward', backends: [{ cluster: V1, weight: 90 }, { cluster: V2, weight: 10 }] })] }, clusters());
    const agent = rig.agent();
    let v2 = 0;
    const n = 1000;
    for (let i = 0; i < n; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => rig.request({ path: '/w', agent })));
      v2 += batch.filter((r) => r.headers['x-backend'] === 'v2').length;
    }
    const share = (100 * v2) / n;
    assert.ok(share >= 6 && share <= 14, `v2 share ${share}%`);
  });

  it('applies request and response header modifiers, duplicates kept', async () => {
    rig.config({
      http: [route('mods', {}, fwd(V1), {
        requestHeaders: { set: [{ name: 'x-set', value: 'new' }], add: [{ name: 'x-add', value: 'appended' }], remove: ['x-remove'] },
        responseHeaders: { set: [{ name: 'x-resp', value: 'yes' }], remove: ['x-backend'] },
      })],
    }, clusters());
    const r = await rig.request({ path: '/mods', headers: { 'x-set': 'old', 'x-add': 'first', 'x-remove': 'gone', 'x-dup': ['a', 'b'] } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-resp'], 'yes');
    assert.equal(r.headers['x-backend'], undefined);
    const hit = rig.hits.at(-1)!;
    assert.deepEqual(seen(hit, 'x-set'), ['new']);
    // Appended as a second field line: the same header as `first,appended` (RFC 9110 §5.3), which is
    // what the Gateway API conformance harness reads after joining lines with ','.
    assert.deepEqual(seen(hit, 'x-add'), ['first', 'appended']);
    assert.deepEqual(seen(hit, 'x-remove'), []);
    assert.deepEqual(seen(hit, 'x-dup'), ['a', 'b']);
  });

  it('rewrites path prefix and host as seen by the backend, query kept', async () => {
    rig.config({
      http: [route('rw', { path: { type: 'PathPrefix', value: '/old' } }, fwd(V1), {
        rewrite: { hostname: 'rewritten.example', path: { type: 'ReplacePrefixMatch', prefix: '/old', value: '/new' } },
      })],
    }, clusters());
    const r = await rig.request({ path: '/old/page?x=1' });
    assert.equal(r.status, 200);
    const hit = rig.hits.at(-1)!;
    assert.equal(hit.url, '/new/page?x=1');
    assert.deepEqual(seen(hit, 'host'), ['rewritten.example']);
  });

  it('redirects with the Location of the spec (scheme default http, port 80 left out)', async () => {
    rig.config({ http: [route('redir', {}, { kind: 'redirect', redirect: { hostname: 'other.example', statusCode: 301, path: { type: 'ReplaceFullPath', value: '/moved' } } })] }, clusters());
    const r = await rig.request({ path: '/x?q=1', headers: { host: `reviews:${HTTP_PORT}` } });
    assert.equal(HTTP_PORT, 80);
    assert.equal(r.status, 301);
    // Port 80 with http is left out of Location (Gateway API RequestRedirect).
    assert.equal(r.headers.location, 'http://other.example/moved?q=1');
  });

  it('answers 500 for an invalid backend and 503 for a cluster with no endpoints', async () => {
    rig.config({
      http: [
        route('invalid', { path: { type: 'Exact', value: '/invalid' } }, { kind: 'forward', backends: [{ weight: 1, invalidReason: 'BackendNotFound', invalidStatus: 500 }] }),
        route('empty', { path: { type: 'Exact', value: '/empty' } }, fwd(clusterName('empty.default.svc.cluster.local', 80))),
      ],
    }, clusters());
    assert.equal((await rig.request({ path: '/invalid' })).status, 500);
    assert.equal((await rig.request({ path: '/empty' })).status, 503);
  });

  it('pod-addressed traffic (authority = a pod IP and target port) reaches that pod, whatever the routes say', async () => {
    // Every request to the service goes to v2 by route; addressed to v1's IP it must stay with v1.
    rig.config({ http: [route('all-to-v2', {}, fwd(V2))] }, clusters());
    assert.equal((await rig.request({ path: '/by-vip' })).headers['x-backend'], 'v2');
    const agent = rig.agent(`${rig.ips.v1}:8080`);
    for (let i = 0; i < 6; i++) {
      const r = await rig.request({ path: `/by-pod-ip/${i}`, agent });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-backend'], 'v1');
    }
    // A path no route matches is still served: pod-addressed traffic is not routed at all.
    rig.config({ http: [route('only-foo', { path: { type: 'PathPrefix', value: '/foo' } }, fwd(V2))] }, clusters());
    const r = await rig.request({ path: '/not-foo', agent: rig.agent(`${rig.ips.v1}:8080`) });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-backend'], 'v1');
  });

  it('refuses a CONNECT to a target it does not serve', async () => {
    await assert.rejects(rig.connect(`${VIP}:9999`), /status 404/);
    await assert.rejects(rig.connect('10.1.2.3:80'), /status 404/);
  });
});
