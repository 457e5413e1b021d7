// CORS through a live WaypointProxy (real HBONE, TLS, HTTP/1.1 and HTTP/2): preflights answered
// by the waypoint without reaching the backend, unmatched preflights forwarded (or answered bare),
// allowed origins echoed on real responses, others untouched; policies as the control plane
// compiles them from an HTTPRoute CORS filter and a VirtualService corsPolicy.

import { strict as assert } from 'node:assert';
import * as http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { CorsPolicy, Route } from '../../src/waypoint/index.js';
import { DEFAULT_CLUSTER, HTTP_PORT, NS, VIP, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { meshWithWaypoint, route as httpRoute, svc, toService, translateWp, virtualService } from '../helpers/waypoint-objects.js';

const POLICY: CorsPolicy = {
  allowOrigins: [{ type: 'Exact', value: 'https://app.example' }, { type: 'RegularExpression', value: 'https://.*\\.partner\\.example' }],
  allowMethods: ['GET', 'PUT'],
  allowHeaders: ['x-token'],
  exposeHeaders: ['x-backend', 'x-request-id'],
  maxAgeSeconds: 300,
  allowCredentials: true,
};

function corsRoute(cors: CorsPolicy, extra: Partial<Route> = {}): Route {
  return {
    name: 'default/cors.r0.m0',
    source: { kind: 'VirtualService', namespace: NS, name: 'cors', rule: 0, match: 0 },
    match: { path: { type: 'Prefix', value: '/' } },
    action: { kind: 'forward', backends: [{ cluster: DEFAULT_CLUSTER, weight: 1 }] },
    cors,
    ...extra,
  };
}

const PREFLIGHT = { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-token' };

describe('waypoint CORS', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig();
  });
  after(async () => rig.close());

  it('answers a preflight from an allowed origin itself, with the policy, before any fault', async () => {
    // The fault would abort every request: a preflight never reaches it (Envoy: cors before fault).
    rig.config({ http: [corsRoute(POLICY, { fault: { abort: { httpStatus: 503, percent: 100 } } })] });
    const before = rig.hits.length;
    const r = await rig.request({ method: 'OPTIONS', path: '/items/1', headers: PREFLIGHT });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-allow-methods'], 'GET,PUT');
    assert.equal(r.headers['access-control-allow-headers'], 'x-token');
    assert.equal(r.headers['access-control-max-age'], '300');
    assert.equal(rig.hits.length, before, 'the backend saw nothing');
    // A regex origin, same answer.
    const p = await rig.request({ method: 'OPTIONS', path: '/', headers: { ...PREFLIGHT, origin: 'https://eu.partner.example' } });
    assert.equal(p.status, 200);
    assert.equal(p.headers['access-control-allow-origin'], 'https://eu.partner.example');
  });

  it('forwards a preflight from an origin not allowed, without CORS headers; answers it bare with unmatchedPreflights ignore', async () => {
    rig.config({ http: [corsRoute(POLICY)] });
    const r = await rig.request({ method: 'OPTIONS', path: '/forwarded', headers: { ...PREFLIGHT, origin: 'https://evil.example' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-backend'] !== undefined, true, 'answered by the backend');
    assert.equal(rig.hits.at(-1)!.method, 'OPTIONS');
    assert.equal(rig.hits.at(-1)!.url, '/forwarded');
    for (const k of Object.keys(r.headers)) assert.ok(!k.startsWith('access-control-'), `unexpected ${k}`);

    rig.config({ http: [corsRoute({ ...POLICY, unmatchedPreflights: 'ignore' })] });
    const before = rig.hits.length;
    const bare = await rig.request({ method: 'OPTIONS', path: '/ignored', headers: { ...PREFLIGHT, origin: 'https://evil.example' } });
    assert.equal(bare.status, 200);
    assert.equal(bare.headers['access-control-allow-origin'], undefined);
    assert.equal(rig.hits.length, before, 'not forwarded');
  });

  it('echoes an allowed origin on real responses with credentials and expose headers; leaves other requests alone', async () => {
    rig.config({ http: [corsRoute(POLICY)] });
    const r = await rig.request({ path: '/data', headers: { origin: 'https://app.example' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-expose-headers'], 'x-backend,x-request-id');
    // An OPTIONS without Access-Control-Request-Method is an ordinary request: forwarded, origin echoed.
    const opt = await rig.request({ method: 'OPTIONS', path: '/plain-options', headers: { origin: 'https://app.example' } });
    assert.equal(rig.hits.at(-1)!.url, '/plain-options');
    assert.equal(opt.headers['access-control-allow-origin'], 'https://app.example');
    for (const headers of [{ origin: 'https://evil.example' }, {}]) {
      const o = await rig.request({ path: '/data', headers });
      assert.equal(o.status, 200);
      for (const k of Object.keys(o.headers)) assert.ok(!k.startsWith('access-control-'), `unexpected ${k} for ${JSON.stringify(headers)}`);
    }
    // Local replies carry the headers too (Envoy's CORS filter encodes every response).
    rig.config({ http: [corsRoute(POLICY, { action: { kind: 'direct', status: 418, body: 'teapot' } })] });
    const local = await rig.request({ path: '/direct', headers: { origin: 'https://app.example' } });
    assert.equal(local.status, 418);
    assert.equal(local.headers['access-control-allow-origin'], 'https://app.example');
  });

  it('answers preflights over HTTP/2 downstream as well', async () => {
    rig.config({ http: [corsRoute(POLICY)] });
    const { stream } = await rig.connect(`${VIP}:${HTTP_PORT}`);
    const session = http2.connect('http://reviews', { createConnection: () => stream as never });
    try {
      const req = session.request({ ':method': 'OPTIONS', ':path': '/h2', ...PREFLIGHT });
      req.end();
      const headers = await new Promise<http2.IncomingHttpHeaders>((res, rej) => {
        req.once('response', res);
        req.once('error', rej);
      });
      req.resume();
      assert.equal(headers[':status'], 200);
      assert.equal(headers['access-control-allow-origin'], 'https://app.example');
      assert.equal(headers['access-control-allow-methods'], 'GET,PUT');
    } finally {
      session.destroy();
    }
  });

  it('runs the policies the control plane compiles from an HTTPRoute CORS filter and a VirtualService corsPolicy', async () => {
    const gw = translateWp(meshWithWaypoint(svc('reviews'), httpRoute('r', { parentRefs: toService('reviews'), rules: [
      { filters: [{ type: 'CORS', cors: { allowOrigins: ['https://*.example.com'], allowMethods: ['*'], allowHeaders: ['*'], allowCredentials: true } }], backendRefs: [{ name: 'reviews', port: 80 }] },
    ] })));
    assert.deepEqual(gw.problems, []);
    rig.config({ http: [...gw.routes('reviews')] });
    const pre = await rig.request({ method: 'OPTIONS', path: '/x', headers: { origin: 'https://a.b.example.com', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'x-one,x-two' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://a.b.example.com');
    assert.equal(pre.headers['access-control-allow-methods'], 'PATCH');
    assert.equal(pre.headers['access-control-allow-headers'], 'x-one,x-two');
    assert.equal(pre.headers['access-control-max-age'], '5');
    const denied = await rig.request({ path: '/x', headers: { origin: 'https://example.com.evil' } });
    assert.equal(denied.headers['access-control-allow-origin'], undefined);

    const vs = translateWp(meshWithWaypoint(svc('reviews'), virtualService('vs', { hosts: ['reviews'], http: [
      { match: [{ uri: { prefix: '/api' } }], route: [{ destination: { host: 'reviews' } }], corsPolicy: { allowOrigins: [{ prefix: 'https://app.' }], allowMethods: ['GET'], exposeHeaders: ['x-backend'], maxAge: '1m' } },
    ] })));
    assert.deepEqual(vs.problems, []);
    rig.config({ http: [...vs.routes('reviews')] });
    const vpre = await rig.request({ method: 'OPTIONS', path: '/api/v', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    assert.equal(vpre.status, 200);
    assert.equal(vpre.headers['access-control-max-age'], '60');
    assert.equal(vpre.headers['access-control-allow-credentials'], undefined);
    const get = await rig.request({ path: '/api/v', headers: { origin: 'https://app.example' } });
    assert.equal(get.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(get.headers['access-control-expose-headers'], 'x-backend');
    // Outside the route's match: 404 from the waypoint, no CORS (no route, no policy).
    const miss = await rig.request({ path: '/other', headers: { origin: 'https://app.example' } });
    assert.equal(miss.status, 404);
    assert.equal(miss.headers['access-control-allow-origin'], undefined);
  });
});
