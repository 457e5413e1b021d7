// HTTPRoute → model Routes: matches, each filter, backends (weights, invalid ones, none), timeouts
// and retry, one Route per match; invalid rules dropped with the field path, other rules served.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidRe2, parseGatewayDuration } from '../../src/controlplane/index.js';
import type { Route } from '../../src/waypoint/model/route-model.js';
import { cluster, meshWithWaypoint, route, svc, toService, translateWp } from '../helpers/waypoint-objects.js';

const BACKEND = [{ name: 'reviews', port: 80 }];

/** The Routes of one rule on reviews:80, and the problems. */
function compileRule(rule: Record<string, unknown>, ...extra: Parameters<typeof meshWithWaypoint>): { routes: readonly Route[]; problems: string[] } {
  const t = translateWp(meshWithWaypoint(svc('reviews'), svc('ratings', { ports: [{ name: 'grpc', port: 9090 }] }), ...extra, route('r', { parentRefs: toService('reviews'), rules: [rule] })));
  return { routes: t.routes('reviews'), problems: t.problems };
}

test('filters compile into the model, header names lower case', () => {
  const rows: [string, Record<string, unknown>, Partial<Route>][] = [
    ['RequestHeaderModifier', { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-A', value: '1' }], add: [{ name: 'X-B', value: '2' }], remove: ['X-C'] } },
      { requestHeaders: { set: [{ name: 'x-a', value: '1' }], add: [{ name: 'x-b', value: '2' }], remove: ['x-c'] } }],
    ['ResponseHeaderModifier', { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'X-R', value: 'v' }] } },
      { responseHeaders: { add: [{ name: 'x-r', value: 'v' }] } }],
    ['URLRewrite full path + hostname', { type: 'URLRewrite', urlRewrite: { hostname: 'h.example', path: { type: 'ReplaceFullPath', replaceFullPath: '/new' } } },
      { rewrite: { hostname: 'h.example', path: { type: 'ReplaceFullPath', value: '/new' } } }],
    ['URLRewrite prefix (one PathPrefix match)', { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/xyz' } } },
      { rewrite: { path: { type: 'ReplacePrefixMatch', prefix: '/foo', value: '/xyz' } } }],
    ['RequestMirror percent', { type: 'RequestMirror', requestMirror: { backendRef: { name: 'ratings', port: 9090 }, percent: 25 } },
      { mirrors: [{ cluster: cluster('ratings', 9090), percent: 25 }] }],
    ['RequestMirror fraction', { type: 'RequestMirror', requestMirror: { backendRef: { name: 'ratings', port: 9090 }, fraction: { numerator: 1, denominator: 8 } } },
      { mirrors: [{ cluster: cluster('ratings', 9090), percent: 12.5 }] }],
    ['RequestMirror default 100 %', { type: 'RequestMirror', requestMirror: { backendRef: { name: 'ratings', port: 9090 } } },
      { mirrors: [{ cluster: cluster('ratings', 9090), percent: 100 }] }],
  ];
  for (const [what, filter, expected] of rows) {
    const { routes, problems } = compileRule({ matches: [{ path: { type: 'PathPrefix', value: '/foo' } }], filters: [filter], backendRefs: BACKEND });
    assert.equal(routes.length, 1, what);
    const r = routes[0]!;
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(r[k as keyof Route], v, what);
    assert.deepEqual(problems, [], what);
  }
});

test('RequestRedirect: defaults to 302, no backends; the action carries every field', () => {
  const { routes } = compileRule({ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'x.example', port: 8443, statusCode: 301, path: { type: 'ReplaceFullPath', replaceFullPath: '/p' } } }] });
  assert.deepEqual(routes[0]!.action, { kind: 'redirect', redirect: { statusCode: 301, scheme: 'https', hostname: 'x.example', port: 8443, path: { type: 'ReplaceFullPath', value: '/p' } } });
  const plain = compileRule({ filters: [{ type: 'RequestRedirect', requestRedirect: {} }] }).routes[0]!;
  assert.deepEqual(plain.action, { kind: 'redirect', redirect: { statusCode: 302 } });
});

test('backends: weights (default 1), per-backend filters, invalid backends keep their share as 500, no backends ⇒ 500', () => {
  const { routes, problems } = compileRule({
    backendRefs: [
      { name: 'reviews', port: 80, weight: 3, filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-V', value: 'r' }] } }] },
      { name: 'ratings', port: 9090 },
      { name: 'missing', port: 80 },
      { group: 'example.com', kind: 'Bucket', name: 'b' },
      { name: 'reviews' },
    ],
  });
  assert.deepEqual(routes[0]!.action, {
    kind: 'forward',
    backends: [
      { cluster: cluster('reviews'), weight: 3, requestHeaders: { set: [{ name: 'x-v', value: 'r' }] } },
      { cluster: cluster('ratings', 9090), weight: 1 },
      { weight: 1, invalidReason: 'BackendNotFound', invalidStatus: 500 },
      { weight: 1, invalidReason: 'InvalidKind', invalidStatus: 500 },
      { weight: 1, invalidReason: 'BackendNotFound', invalidStatus: 500 },
    ],
  });
  assert.deepEqual(problems, [
    'error HTTPRoute/default/r spec.rules[0].backendRefs[2]: BackendNotFound: backend(missing.default.svc.cluster.local) not found; its share is answered 500',
    'error HTTPRoute/default/r spec.rules[0].backendRefs[3]: InvalidKind: unsupported backendRef kind: group "example.com" kind "Bucket"; its share is answered 500',
    'error HTTPRoute/default/r spec.rules[0].backendRefs[4]: BackendNotFound: backend(reviews.default.svc.cluster.local): port is required for a Service backendRef; its share is answered 500',
  ]);
  assert.deepEqual(compileRule({}).routes[0]!.action, { kind: 'direct', status: 500 });
  assert.deepEqual(compileRule({ backendRefs: [{ name: 'reviews', port: 80, weight: 0 }] }).routes[0]!.action, { kind: 'direct', status: 500 });
});

test('timeouts and retry: GEP-2257 durations, 0s disables, backendRequest is the per-try timeout with a retry', () => {
  const rows: [Record<string, unknown>, Partial<Route>][] = [
    [{ timeouts: { request: '10s', backendRequest: '500ms' } }, { timeouts: { requestMs: 10_000, backendRequestMs: 500 } }],
    [{ timeouts: { request: '1h30m' } }, { timeouts: { requestMs: 5_400_000 } }],
    [{ timeouts: { request: '0s' } }, { timeouts: undefined }],
    [{ retry: { codes: [503], attempts: 3, backoff: '100ms' }, timeouts: { backendRequest: '2s' } },
      { timeouts: { backendRequestMs: 2_000 }, retry: { attempts: 3, codes: [503], retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], backoffMs: 100, perTryTimeoutMs: 2_000 } }],
    [{ retry: {} }, { retry: { attempts: 2, codes: [], retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], backoffMs: 25 } }],
  ];
  for (const [extra, expected] of rows) {
    const { routes, problems } = compileRule({ backendRefs: BACKEND, ...extra });
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(routes[0]![k as keyof Route], v, JSON.stringify(extra));
    assert.deepEqual(problems, []);
  }
  assert.deepEqual(['1s', '500ms', '1h2m3s4ms', '0s', '1.5s', '1us', '', '123456s', '1s1s1s1s1s'].map(parseGatewayDuration), [1000, 500, 3_723_004, 0, undefined, undefined, undefined, undefined, undefined]);
});

test('matches: one Route per match (rule and match indexes), defaults PathPrefix /, header names lower case, first of a name counts', () => {
  const { routes } = compileRule({
    matches: [
      { path: { type: 'Exact', value: '/a' }, method: 'GET' },
      { headers: [{ name: 'X-Env', value: 'dev' }, { name: 'x-env', value: 'ignored' }, { type: 'RegularExpression', name: 'X-Re', value: 'v[0-9]+' }], queryParams: [{ name: 'Q', value: '1' }] },
    ],
    backendRefs: BACKEND,
  });
  assert.deepEqual(routes.map((r) => [r.name, r.source.rule, r.source.match]), [['default/r.r0.m0', 0, 0], ['default/r.r0.m1', 0, 1]]);
  assert.deepEqual(routes[0]!.match, { path: { type: 'Exact', value: '/a' }, method: 'GET' });
  assert.deepEqual(routes[1]!.match, {
    path: { type: 'PathPrefix', value: '/' },
    headers: [{ name: 'x-env', type: 'Exact', value: 'dev' }, { name: 'x-re', type: 'RegularExpression', value: 'v[0-9]+' }],
    queryParams: [{ name: 'Q', type: 'Exact', value: '1' }],
  });
});

test('invalid rules are dropped with the field path; the route\'s other rules still serve', () => {
  const rows: [Record<string, unknown>, string][] = [
    [{ matches: [{ path: { type: 'Exact', value: '/ok' } }, { path: { type: 'Glob', value: '/x' } }] }, 'spec.rules[1].matches[1].path.type: UnsupportedValue: unsupported path match type "Glob"; rule dropped'],
    [{ matches: [{ path: { type: 'RegularExpression', value: '/(a' } }] }, 'spec.rules[1].matches[0].path.value: UnsupportedValue: invalid regular expression'],
    [{ matches: [{ path: { type: 'RegularExpression', value: '/(a)\\1' } }] }, 'spec.rules[1].matches[0].path.value: UnsupportedValue: invalid regular expression "/(a)\\\\1": backreferences (\\1) are not supported by RE2; rule dropped'],
    [{ matches: [{ headers: [{ type: 'Fuzzy', name: 'a', value: 'b' }] }] }, 'spec.rules[1].matches[0].headers[0].type: UnsupportedValue: unsupported match type "Fuzzy"; rule dropped'],
    [{ matches: [{ method: 'FETCH' }] }, 'spec.rules[1].matches[0].method: UnsupportedValue: "FETCH" is not an HTTP method the Gateway API allows; rule dropped'],
    [{ filters: [{ type: 'Teleport' }] }, 'spec.rules[1].filters[0].type: UnsupportedValue: unsupported filter type "Teleport"; rule dropped'],
    [{ filters: [{ type: 'ExternalAuth', externalAuth: {} }] }, 'spec.rules[1].filters[0].type: UnsupportedValue: filter type "ExternalAuth" is not supported by Ambit\'s waypoint; rule dropped'],
    [{ backendRefs: [{ name: 'reviews', port: 80, filters: [{ type: 'CORS', cors: {} }] }] },
      'spec.rules[1].backendRefs[0].filters[0].type: UnsupportedValue: a CORS filter is supported on HTTPRoute rules, not on backendRefs or GRPCRoutes; rule dropped'],
    [{ filters: [{ type: 'CORS', cors: {} }, { type: 'CORS', cors: {} }] }, 'spec.rules[1].filters[1].type: UnsupportedValue: filter "CORS" may appear only once; rule dropped'],
    [{ matches: [{ path: { value: '/a' } }, { path: { value: '/b' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }] },
      'spec.rules[1].filters[0].urlRewrite.path.type: UnsupportedValue: ReplacePrefixMatch needs a rule with exactly one match, of type PathPrefix; rule dropped'],
    [{ filters: [{ type: 'RequestRedirect', requestRedirect: {} }, { type: 'URLRewrite', urlRewrite: {} }] }, 'spec.rules[1].filters: IncompatibleFilters: RequestRedirect and URLRewrite cannot be used together; rule dropped'],
    [{ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 305 } }] }, 'spec.rules[1].filters[0].requestRedirect.statusCode: UnsupportedValue: status code 305 is not 301, 302, 303, 307 or 308; rule dropped'],
    [{ timeouts: { request: '1.5s' } }, 'spec.rules[1].timeouts.request: UnsupportedValue: "1.5s" is not a duration (GEP-2257: e.g. 500ms, 1h30m); rule dropped'],
    [{ retry: { codes: [200] } }, 'spec.rules[1].retry.codes[0]: UnsupportedValue: 200 is not an HTTP status 400..599; rule dropped'],
    [{ backendRefs: [{ name: 'reviews', port: 80, filters: [{ type: 'RequestRedirect', requestRedirect: {} }] }] }, 'spec.rules[1].backendRefs[0].filters[0].type: UnsupportedValue: unsupported filter type "RequestRedirect"; rule dropped'],
  ];
  for (const [bad, problem] of rows) {
    const t = translateWp(meshWithWaypoint(svc('reviews'), route('r', { parentRefs: toService('reviews'), rules: [{ matches: [{ path: { type: 'Exact', value: '/good' } }], backendRefs: BACKEND }, bad] })));
    assert.deepEqual(t.routes('reviews').map((r) => r.name), ['default/r.r0.m0'], problem);
    assert.equal(t.problems.length, 1, problem);
    assert.ok(t.problems[0]!.startsWith(`error HTTPRoute/default/r ${problem}`), `${t.problems[0]} should start with ${problem}`);
  }
});

test('an ExtensionRef filter is not skipped: matching requests get 500; an unresolvable mirror is left out, the rule serves', () => {
  const ext = compileRule({ filters: [{ type: 'ExtensionRef', extensionRef: { group: 'x.io', kind: 'K', name: 'n' } }], backendRefs: BACKEND });
  assert.deepEqual(ext.routes[0]!.action, { kind: 'direct', status: 500 });
  const mirror = compileRule({ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'gone', port: 80 } } }], backendRefs: BACKEND });
  assert.equal(mirror.routes[0]!.mirrors, undefined);
  assert.deepEqual(mirror.problems, ['error HTTPRoute/default/r spec.rules[0].filters[0].requestMirror.backendRef: BackendNotFound: backend(gone.default.svc.cluster.local) not found; mirror not configured']);
});

test('RE2 validity check: JS-compilable, no backreferences or lookaround, RE2 flag prefix and (?P<name>) accepted', () => {
  const rows: [string, boolean][] = [['/v[0-9]+/.*', true], ['(?i)abc', true], ['(?P<id>[0-9]+)', true], ['a\\\\1', true], ['(a)\\1', false], ['a(?=b)', false], ['(?<!x)y', false], ['(', false], ['\\k<n>', false]];
  for (const [p, ok] of rows) assert.equal(isValidRe2(p), ok, p);
});
