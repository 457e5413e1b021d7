// CORS: the Gateway API CORS filter and the VirtualService corsPolicy compiled into Route.cors, the
// waypoint's preflight answer and response headers as Envoy's CORS filter gives them, and the
// codec's shape check of the new fields (a bad policy is NACKed, a good one round-trips).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayOrigin } from '../../src/controlplane/index.js';
import { applyCorsResponse, corsPreflight } from '../../src/waypoint/cors.js';
import type { CorsPolicy } from '../../src/waypoint/model/route-model.js';
import { compileRegex } from '../../src/waypoint/routing/index.js';
import { CompiledConfig } from '../../src/waypoint/compiled-config.js';
import { decodeWaypointConfig, encodeWaypointConfig } from '../../src/xds/index.js';
import { meshWithWaypoint, route, svc, toService, translateWp, virtualService } from '../helpers/waypoint-objects.js';

test('Gateway API CORS filter → Route.cors: origins with wildcards, maxAge default 5 s', () => {
  const t = translateWp(meshWithWaypoint(svc('reviews'), route('r', { parentRefs: toService('reviews'), rules: [
    { matches: [{ path: { type: 'PathPrefix', value: '/a' } }], filters: [{ type: 'CORS', cors: { allowOrigins: ['https://www.example.com', 'https://*.example.org', '*'], allowMethods: ['GET', 'POST'], allowHeaders: ['x-a'], exposeHeaders: ['x-e'], allowCredentials: true } }], backendRefs: [{ name: 'reviews', port: 80 }] },
    { matches: [{ path: { type: 'PathPrefix', value: '/b' } }], filters: [{ type: 'CORS', cors: { allowOrigins: ['http://b.example:8080'], maxAge: 0 } }], backendRefs: [{ name: 'reviews', port: 80 }] },
  ] })));
  assert.deepEqual(t.problems, []);
  const [a, b] = t.routes('reviews');
  assert.deepEqual(a!.cors, {
    allowOrigins: [{ type: 'Exact', value: 'https://www.example.com' }, { type: 'RegularExpression', value: 'https://.*\\.example\\.org' }, { type: 'RegularExpression', value: '.*' }],
    allowMethods: ['GET', 'POST'], allowHeaders: ['x-a'], exposeHeaders: ['x-e'], maxAgeSeconds: 5, allowCredentials: true,
  });
  assert.deepEqual(b!.cors, { allowOrigins: [{ type: 'Exact', value: 'http://b.example:8080' }], allowMethods: [], allowHeaders: [], exposeHeaders: [] });
});

test('Gateway API origin wildcards are greedy to the left and match the whole origin', () => {
  const rows: [string, string, boolean][] = [
    ['https://*.example.com', 'https://a.example.com', true],
    ['https://*.example.com', 'https://a.b.example.com', true],
    ['https://*.example.com', 'https://example.com', false],
    ['https://*.example.com', 'http://a.example.com', false],
    ['https://*.example.com', 'https://a.example.com.evil', false],
    ['http://a.example:*', 'http://a.example:8080', true],
  ];
  for (const [origin, value, match] of rows) {
    const m = gatewayOrigin(origin);
    assert.equal(m.type, 'RegularExpression');
    assert.equal(compileRegex(m.value).test(value), match, `${origin} vs ${value}`);
  }
  assert.deepEqual(gatewayOrigin('https://x.example'), { type: 'Exact', value: 'https://x.example' });
});

test('VirtualService corsPolicy → Route.cors; the deprecated allowOrigin only without allowOrigins; bad parts reported', () => {
  const cors = (policy: Record<string, unknown>) => {
    const t = translateWp(meshWithWaypoint(svc('reviews'), virtualService('vs', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], corsPolicy: policy }] })));
    return { cors: t.routes('reviews')[0]!.cors, problems: t.problems };
  };
  assert.deepEqual(cors({
    allowOrigins: [{ exact: 'https://a.example' }, { prefix: 'https://b.' }, { regex: 'https://.*\\.c\\.example' }],
    allowOrigin: ['https://ignored.example'],
    allowMethods: ['GET', 'PUT'], allowHeaders: ['authorization'], exposeHeaders: ['x-id'], maxAge: '1.9s', allowCredentials: false, unmatchedPreflights: 'IGNORE',
  }), {
    cors: {
      allowOrigins: [{ type: 'Exact', value: 'https://a.example' }, { type: 'Prefix', value: 'https://b.' }, { type: 'RegularExpression', value: 'https://.*\\.c\\.example' }],
      allowMethods: ['GET', 'PUT'], allowHeaders: ['authorization'], exposeHeaders: ['x-id'], maxAgeSeconds: 1, allowCredentials: false, unmatchedPreflights: 'ignore',
    },
    problems: [],
  });
  assert.deepEqual(cors({ allowOrigin: ['https://old.example'] }).cors!.allowOrigins, [{ type: 'Exact', value: 'https://old.example' }]);
  const bad = cors({ allowOrigins: [{ regex: '(' }, { exact: 'https://ok.example' }], maxAge: 'long' });
  assert.deepEqual(bad.cors, { allowOrigins: [{ type: 'Exact', value: 'https://ok.example' }], allowMethods: [], allowHeaders: [], exposeHeaders: [] });
  assert.equal(bad.problems.length, 2);
  assert.match(bad.problems[0]!, /^error VirtualService\/default\/vs spec\.http\[0\]\.corsPolicy\.allowOrigins\[0\]\.regex: invalid regular expression .*; origin left out$/);
  assert.equal(bad.problems[1], 'error VirtualService/default/vs spec.http[0].corsPolicy.maxAge: "long" is not a duration; no Access-Control-Max-Age is sent');
});

const POLICY: CorsPolicy = {
  allowOrigins: [{ type: 'Exact', value: 'https://a.example' }, { type: 'RegularExpression', value: 'https://.*\\.b\\.example' }],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['x-a', 'x-b'],
  exposeHeaders: ['x-e'],
  maxAgeSeconds: 600,
  allowCredentials: true,
};
const h = (o: Record<string, string>): Map<string, string[]> => new Map(Object.entries(o).map(([k, v]) => [k, [v]]));

test('preflight: answered for an allowed origin, forwarded (or answered bare with ignore) for another, not for other requests', () => {
  const pre = { origin: 'https://a.example', 'access-control-request-method': 'PUT' };
  assert.deepEqual(corsPreflight(POLICY, 'OPTIONS', h(pre)), {
    'access-control-allow-origin': 'https://a.example', 'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET,POST', 'access-control-allow-headers': 'x-a,x-b', 'access-control-max-age': '600',
  });
  assert.equal(corsPreflight(POLICY, 'OPTIONS', h({ ...pre, origin: 'https://x.b.example' }))!['access-control-allow-origin'], 'https://x.b.example');
  assert.equal(corsPreflight(POLICY, 'OPTIONS', h({ ...pre, origin: 'https://evil.example' })), undefined);
  assert.deepEqual(corsPreflight({ ...POLICY, unmatchedPreflights: 'ignore' }, 'OPTIONS', h({ ...pre, origin: 'https://evil.example' })), {
    'access-control-allow-credentials': 'true', 'access-control-allow-methods': 'GET,POST', 'access-control-allow-headers': 'x-a,x-b', 'access-control-max-age': '600',
  });
  assert.equal(corsPreflight(POLICY, 'OPTIONS', h({ origin: 'https://a.example' })), undefined, 'no Access-Control-Request-Method');
  assert.equal(corsPreflight(POLICY, 'GET', h(pre)), undefined, 'not OPTIONS');
  assert.equal(corsPreflight(undefined, 'OPTIONS', h(pre)), undefined, 'no policy');
  // `*` methods/headers echo what the preflight asks for; an origin matcher matching `*` allows all.
  const star: CorsPolicy = { allowOrigins: [{ type: 'RegularExpression', value: '.*' }], allowMethods: ['*'], allowHeaders: ['*'], exposeHeaders: [] };
  assert.deepEqual(corsPreflight(star, 'OPTIONS', h({ origin: 'null', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'x-q' })), {
    'access-control-allow-origin': 'null', 'access-control-allow-methods': 'DELETE', 'access-control-allow-headers': 'x-q',
  });
});

test('responses: an allowed origin is echoed (never *), with credentials and expose headers; anything else is left alone', () => {
  const resp = h({ 'access-control-allow-origin': '*', 'content-type': 'text/plain' });
  applyCorsResponse(POLICY, 'https://a.example', resp);
  assert.deepEqual(Object.fromEntries(resp), {
    'access-control-allow-origin': ['https://a.example'], 'content-type': ['text/plain'],
    'access-control-allow-credentials': ['true'], 'access-control-expose-headers': ['x-e'],
  });
  for (const [what, policy, origin] of [['other origin', POLICY, 'https://evil.example'], ['no origin', POLICY, undefined], ['no policy', undefined, 'https://a.example']] as const) {
    const r = h({ 'x-up': '1' });
    applyCorsResponse(policy, origin, r);
    assert.deepEqual(Object.fromEntries(r), { 'x-up': ['1'] }, what);
  }
});

test('the codec carries cors and the new rewrites; bad shapes and bad regexes are refused', () => {
  const t = translateWp(meshWithWaypoint(svc('reviews'), virtualService('vs', { hosts: ['reviews'], http: [
    { match: [{ uri: { prefix: '/p' } }], rewrite: { uri: '/q' }, route: [{ destination: { host: 'reviews' } }], corsPolicy: { allowOrigins: [{ exact: 'https://a' }] } },
    { rewrite: { uriRegexRewrite: { match: '^/r/(.*)', rewrite: '/\\1' } }, route: [{ destination: { host: 'reviews' } }] },
  ] })));
  assert.deepEqual(decodeWaypointConfig(encodeWaypointConfig(t.config)), t.config);
  const mutate = (f: (route: Record<string, unknown>) => void): Uint8Array => {
    const c = JSON.parse(JSON.stringify(t.config)) as { services: { ports: { routes: Record<string, unknown>[] }[] }[] };
    f(c.services[0]!.ports[0]!.routes[0]!);
    return encodeWaypointConfig(c as never);
  };
  const rows: [Uint8Array, RegExp][] = [
    [mutate((r) => { (r.cors as Record<string, unknown>).allowOrigins = [{ type: 'Glob', value: 'x' }]; }), /routes\[0\]\.cors\.allowOrigins\[0\]\.type: expected one of Exact, Prefix, RegularExpression/],
    [mutate((r) => { (r.cors as Record<string, unknown>).allowMethods = 'GET'; }), /routes\[0\]\.cors\.allowMethods: expected an array/],
    [mutate((r) => { (r.cors as Record<string, unknown>).unmatchedPreflights = 'drop'; }), /routes\[0\]\.cors\.unmatchedPreflights: expected one of forward, ignore/],
    [mutate((r) => { r.rewrite = { path: { type: 'Teleport', value: '/' } }; }), /routes\[0\]\.rewrite\.path\.type: expected one of ReplaceFullPath, ReplacePrefixMatch, PrefixRewrite, RegexRewrite/],
    [mutate((r) => { r.rewrite = { path: { type: 'RegexRewrite', pattern: 1 } }; }), /routes\[0\]\.rewrite\.path\.pattern: expected a string/],
  ];
  for (const [bytes, reason] of rows) assert.throws(() => decodeWaypointConfig(bytes), (err: Error & { code?: string }) => err.code === 'XDS_INVALID' && reason.test(err.message), String(reason));
  // A regex the waypoint cannot run is refused when the config is compiled (before it replaces the last).
  const badRegex = JSON.parse(JSON.stringify(t.config)) as typeof t.config & { services: { ports: { routes: { cors?: CorsPolicy }[] }[] }[] };
  (badRegex.services[0]!.ports[0]!.routes[0]! as { cors?: CorsPolicy }).cors = { ...POLICY, allowOrigins: [{ type: 'RegularExpression', value: '(a' }] };
  assert.throws(() => new CompiledConfig(badRegex), { code: 'CONFIG_INVALID' });
  const badRewrite = JSON.parse(JSON.stringify(t.config)) as { services: { ports: { routes: { rewrite?: unknown }[] }[] }[] };
  badRewrite.services[0]!.ports[0]!.routes[1]!.rewrite = { path: { type: 'RegexRewrite', pattern: '(?=x)', substitution: '' } };
  assert.throws(() => new CompiledConfig(badRewrite as never), { code: 'CONFIG_INVALID' });
});
