// Table-driven tests of route matching: path (Exact, PathPrefix, Prefix, RegularExpression),
// headers, query parameters, method, gRPC; headerValue and queryParam; PortRoutes first-match.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import type { Route, RouteMatch } from '../../src/waypoint/model/route-model.js';
import {
  PortRoutes,
  compileRouteMatch,
  headerValue,
  queryParam,
  routeMatches,
  type HeaderMap,
  type RequestView,
} from '../../src/waypoint/routing/index.js';

/** A RequestView from a method, a request-target and headers (names lower-cased as the listener does). */
function req(method: string, target: string, headers: Record<string, string | string[]> = {}): RequestView {
  const q = target.indexOf('?');
  const map: HeaderMap = new Map();
  for (const [k, v] of Object.entries(headers)) map.set(k.toLowerCase(), Array.isArray(v) ? [...v] : [v]);
  return { method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), headers: map };
}

const matchCases: Array<{ name: string; match: RouteMatch; yes: RequestView[]; no: RequestView[] }> = [
  {
    name: 'empty match matches everything',
    match: {},
    yes: [req('GET', '/'), req('POST', '/a/b?c=d')],
    no: [],
  },
  {
    name: 'PathPrefix /abc is element-wise',
    match: { path: { type: 'PathPrefix', value: '/abc' } },
    yes: [req('GET', '/abc'), req('GET', '/abc/'), req('GET', '/abc/def'), req('GET', '/abc?x=1')],
    no: [req('GET', '/abcd'), req('GET', '/Abc'), req('GET', '/ab'), req('GET', '/')],
  },
  {
    name: 'PathPrefix ignores one trailing / of the value',
    match: { path: { type: 'PathPrefix', value: '/abc/' } },
    yes: [req('GET', '/abc'), req('GET', '/abc/'), req('GET', '/abc/def')],
    no: [req('GET', '/abcd')],
  },
  {
    name: 'PathPrefix /v2 does not match /v2example',
    match: { path: { type: 'PathPrefix', value: '/v2' } },
    yes: [req('GET', '/v2/example')],
    no: [req('GET', '/v2example')],
  },
  {
    name: 'PathPrefix / matches every path',
    match: { path: { type: 'PathPrefix', value: '/' } },
    yes: [req('GET', '/'), req('GET', '/anything/at/all')],
    no: [],
  },
  {
    name: 'PathPrefix ignoreCase',
    match: { path: { type: 'PathPrefix', value: '/a.b', ignoreCase: true } },
    yes: [req('GET', '/A.B'), req('GET', '/a.B/c')],
    no: [req('GET', '/A.Bc'), req('GET', '/axb')],
  },
  {
    name: 'Prefix (VirtualService) is a plain string prefix',
    match: { path: { type: 'Prefix', value: '/abc' } },
    yes: [req('GET', '/abc'), req('GET', '/abcd'), req('GET', '/abc/x')],
    no: [req('GET', '/ab'), req('GET', '/ABC')],
  },
  {
    name: 'Prefix ignoreCase',
    match: { path: { type: 'Prefix', value: '/abc', ignoreCase: true } },
    yes: [req('GET', '/ABCd')],
    no: [req('GET', '/xabc')],
  },
  {
    name: 'Exact is whole-path and case-sensitive; the query is not part of the path',
    match: { path: { type: 'Exact', value: '/abc' } },
    yes: [req('GET', '/abc'), req('GET', '/abc?x=1')],
    no: [req('GET', '/abc/'), req('GET', '/Abc'), req('GET', '/abcd')],
  },
  {
    name: 'Exact ignoreCase escapes regex metacharacters of the value',
    match: { path: { type: 'Exact', value: '/a.b+(c)', ignoreCase: true } },
    yes: [req('GET', '/A.B+(C)')],
    no: [req('GET', '/axb+(c)'), req('GET', '/a.bb(c)')],
  },
  {
    name: 'RegularExpression is a full-string match',
    match: { path: { type: 'RegularExpression', value: '/v[0-9]+' } },
    yes: [req('GET', '/v1'), req('GET', '/v42')],
    no: [req('GET', '/v1/x'), req('GET', '/x/v1'), req('GET', '/V1')],
  },
  {
    name: 'RegularExpression ignoreCase',
    match: { path: { type: 'RegularExpression', value: '/v[0-9]+', ignoreCase: true } },
    yes: [req('GET', '/V1')],
    no: [req('GET', '/w1')],
  },
  {
    name: 'header Exact: name case-insensitive, value case-sensitive',
    match: { headers: [{ name: 'version', type: 'Exact', value: 'two' }] },
    yes: [req('GET', '/', { Version: 'two' })],
    no: [req('GET', '/', { version: 'Two' }), req('GET', '/'), req('GET', '/', { version: 'two2' })],
  },
  {
    name: 'repeated headers are joined with "," before matching',
    match: { headers: [{ name: 'x', type: 'Exact', value: 'a,b' }] },
    yes: [req('GET', '/', { x: ['a', 'b'] })],
    no: [req('GET', '/', { x: ['a'] }), req('GET', '/', { x: 'a, b' })],
  },
  {
    name: 'header Prefix',
    match: { headers: [{ name: 'user-agent', type: 'Prefix', value: 'curl/' }] },
    yes: [req('GET', '/', { 'user-agent': 'curl/8.5' })],
    no: [req('GET', '/', { 'user-agent': 'Mozilla curl/8' }), req('GET', '/')],
  },
  {
    name: 'header Suffix',
    match: { headers: [{ name: 'host', type: 'Suffix', value: '.local' }] },
    yes: [req('GET', '/', { host: 'a.svc.local' })],
    no: [req('GET', '/', { host: 'a.local.x' })],
  },
  {
    name: 'header RegularExpression is a full match',
    match: { headers: [{ name: 'version', type: 'RegularExpression', value: 'v\\d' }] },
    yes: [req('GET', '/', { version: 'v1' })],
    no: [req('GET', '/', { version: 'v12' }), req('GET', '/', { version: 'xv1' }), req('GET', '/')],
  },
  {
    name: 'header Present, even with an empty value',
    match: { headers: [{ name: 'x-debug', type: 'Present', value: '' }] },
    yes: [req('GET', '/', { 'x-debug': '' }), req('GET', '/', { 'x-debug': '1' })],
    no: [req('GET', '/')],
  },
  {
    name: 'invert negates, and an absent header matches an inverted Exact',
    match: { headers: [{ name: 'end-user', type: 'Exact', value: 'jason', invert: true }] },
    yes: [req('GET', '/', { 'end-user': 'bob' }), req('GET', '/')],
    no: [req('GET', '/', { 'end-user': 'jason' })],
  },
  {
    name: 'inverted Present matches only when absent',
    match: { headers: [{ name: 'x-canary', type: 'Present', value: '', invert: true }] },
    yes: [req('GET', '/')],
    no: [req('GET', '/', { 'x-canary': 'yes' })],
  },
  {
    name: 'query Exact on the first occurrence, name case-sensitive, value decoded',
    match: { queryParams: [{ name: 'animal', type: 'Exact', value: 'whale' }] },
    yes: [req('GET', '/?animal=whale'), req('GET', '/?x=1&animal=whale&animal=dolphin'), req('GET', '/?animal=wh%61le')],
    no: [req('GET', '/?animal=dolphin&animal=whale'), req('GET', '/?Animal=whale'), req('GET', '/'), req('GET', '/?animal=Whale')],
  },
  {
    name: 'query RegularExpression, Prefix, Present',
    match: {
      queryParams: [
        { name: 'id', type: 'RegularExpression', value: '[0-9]+' },
        { name: 'lang', type: 'Prefix', value: 'en' },
        { name: 'debug', type: 'Present', value: '' },
      ],
    },
    yes: [req('GET', '/?id=42&lang=en-GB&debug')],
    no: [req('GET', '/?id=42x&lang=en&debug'), req('GET', '/?id=42&lang=de&debug'), req('GET', '/?id=42&lang=en')],
  },
  {
    name: 'method: exact, upper case',
    match: { method: 'PATCH' },
    yes: [req('PATCH', '/')],
    no: [req('GET', '/'), req('patch', '/')],
  },
  {
    name: 'grpc Exact service and method',
    match: { grpc: { type: 'Exact', service: 'helloworld.Greeter', method: 'SayHello' } },
    yes: [req('POST', '/helloworld.Greeter/SayHello')],
    no: [req('POST', '/helloworld.Greeter/SayGoodbye'), req('POST', '/other.Greeter/SayHello'), req('POST', '/helloworld.Greeter/SayHello/x')],
  },
  {
    name: 'grpc service only: any method',
    match: { grpc: { type: 'Exact', service: 'helloworld.Greeter' } },
    yes: [req('POST', '/helloworld.Greeter/SayHello'), req('POST', '/helloworld.Greeter/Other')],
    no: [req('POST', '/helloworld.Greeter/'), req('POST', '/helloworld.Greeter'), req('POST', '/x/SayHello')],
  },
  {
    name: 'grpc method only: any service',
    match: { grpc: { type: 'Exact', method: 'SayHello' } },
    yes: [req('POST', '/a.B/SayHello'), req('POST', '/c.D/SayHello')],
    no: [req('POST', '//SayHello'), req('POST', '/a.B/SayHi')],
  },
  {
    name: 'grpc RegularExpression per part',
    match: { grpc: { type: 'RegularExpression', service: 'helloworld\\..*', method: 'Say.*' } },
    yes: [req('POST', '/helloworld.Greeter/SayHello')],
    no: [req('POST', '/xhelloworld.Greeter/SayHello'), req('POST', '/helloworld.Greeter/Hello')],
  },
  {
    name: 'all set fields are ANDed',
    match: {
      path: { type: 'PathPrefix', value: '/api' },
      method: 'GET',
      headers: [{ name: 'version', type: 'Exact', value: 'one' }],
      queryParams: [{ name: 'animal', type: 'Exact', value: 'whale' }],
    },
    yes: [req('GET', '/api/x?animal=whale', { version: 'one' })],
    no: [
      req('POST', '/api/x?animal=whale', { version: 'one' }),
      req('GET', '/apix?animal=whale', { version: 'one' }),
      req('GET', '/api/x?animal=whale', { version: 'two' }),
      req('GET', '/api/x?animal=dolphin', { version: 'one' }),
    ],
  },
];

for (const c of matchCases) {
  test(`routeMatches: ${c.name}`, () => {
    const compiled = compileRouteMatch(c.match);
    for (const r of c.yes) {
      assert.equal(routeMatches(c.match, r), true, `should match ${r.method} ${r.path}?${r.query}`);
      assert.equal(routeMatches(c.match, r, compiled), true, `compiled: should match ${r.method} ${r.path}?${r.query}`);
    }
    for (const r of c.no) {
      assert.equal(routeMatches(c.match, r), false, `should not match ${r.method} ${r.path}?${r.query}`);
      assert.equal(routeMatches(c.match, r, compiled), false, `compiled: should not match ${r.method} ${r.path}?${r.query}`);
    }
  });
}

test('headerValue joins repeated values with "," and no space; undefined when absent', () => {
  const h: HeaderMap = new Map([
    ['a', ['1']],
    ['b', ['1', '2', '3']],
    ['c', ['']],
    ['d', []],
  ]);
  const cases: Array<[string, string | undefined]> = [
    ['a', '1'],
    ['b', '1,2,3'],
    ['c', ''],
    ['d', undefined],
    ['missing', undefined],
  ];
  for (const [name, want] of cases) assert.equal(headerValue(h, name), want, name);
});

test('queryParam: first occurrence, exact name, percent-decoding', () => {
  const cases: Array<[query: string, name: string, want: string | undefined]> = [
    ['a=1&a=2', 'a', '1'],
    ['b=0&a=2&a=1', 'a', '2'],
    ['A=1', 'a', undefined],
    ['', 'a', undefined],
    ['ab=1', 'a', undefined],
    ['a', 'a', ''],
    ['a=', 'a', ''],
    ['&&a=1&', 'a', '1'],
    ['a=b=c', 'a', 'b=c'],
    ['q=a%20b', 'q', 'a b'],
    ['q=%41%62', 'q', 'Ab'],
    ['q=caf%C3%A9', 'q', 'café'],
    ['q=a+b', 'q', 'a+b'],
    ['q=100%', 'q', '100%'],
    ['q=%zz%4', 'q', '%zz%4'],
    ['q=%FF', 'q', '\ufffd'],
    ['q=%26x', 'q', '&x'],
    ['a%62=1', 'ab', '1'],
    ['x=%61&a=2', 'a', '2'],
  ];
  for (const [query, name, want] of cases) assert.equal(queryParam(query, name), want, `${query} / ${name}`);
});

function route(name: string, match: RouteMatch): Route {
  return {
    name,
    source: { kind: 'HTTPRoute', namespace: 'default', name: 'r', rule: 0, match: 0 },
    match,
    action: { kind: 'direct', status: 200 },
  };
}

// Gateway API worked examples (HTTPRouteMatchingAcrossRoutes, HTTPRouteQueryParamMatching): the
// routes arrive in the precedence order the control plane computes; matching picks the first.
const worked: Array<{ name: string; routes: Route[]; request: RequestView; want: string }> = [
  {
    name: 'version: two + color: orange → 2 header matches beat 1',
    routes: [
      route('two-headers', { headers: [{ name: 'version', type: 'Exact', value: 'two' }, { name: 'color', type: 'Exact', value: 'orange' }] }),
      route('one-header', { headers: [{ name: 'version', type: 'Exact', value: 'two' }] }),
    ],
    request: req('GET', '/', { version: 'two', color: 'orange' }),
    want: 'two-headers',
  },
  {
    name: 'PATCH /path5 → PathPrefix /path5 beats method PATCH',
    routes: [route('prefix', { path: { type: 'PathPrefix', value: '/path5' } }), route('method', { method: 'PATCH' })],
    request: req('PATCH', '/path5'),
    want: 'prefix',
  },
  {
    name: 'PATCH / + version: four → method beats header',
    routes: [route('method', { method: 'PATCH' }), route('header', { headers: [{ name: 'version', type: 'Exact', value: 'four' }] })],
    request: req('PATCH', '/', { version: 'four' }),
    want: 'method',
  },
  {
    name: '/?animal=whale + version: one → header+query beats query',
    routes: [
      route('header-query', { headers: [{ name: 'version', type: 'Exact', value: 'one' }], queryParams: [{ name: 'animal', type: 'Exact', value: 'whale' }] }),
      route('query', { queryParams: [{ name: 'animal', type: 'Exact', value: 'whale' }] }),
    ],
    request: req('GET', '/?animal=whale', { version: 'one' }),
    want: 'header-query',
  },
  {
    name: '/path5?animal=hydra → PathPrefix /path5 beats query',
    routes: [route('prefix', { path: { type: 'PathPrefix', value: '/path5' } }), route('query', { queryParams: [{ name: 'animal', type: 'Exact', value: 'hydra' }] })],
    request: req('GET', '/path5?animal=hydra'),
    want: 'prefix',
  },
];

for (const w of worked) {
  test(`PortRoutes.select worked example: ${w.name}`, () => {
    // Every candidate matches on its own: the order alone decides.
    for (const r of w.routes) assert.equal(routeMatches(r.match, w.request), true, `${r.name} matches by itself`);
    const table = new PortRoutes(w.routes);
    assert.equal(table.size, w.routes.length);
    assert.equal(table.select(w.request)?.name, w.want);
  });
}

test('PortRoutes.select: first match in the given order, undefined when none matches', () => {
  const table = new PortRoutes([
    route('exact', { path: { type: 'Exact', value: '/a' } }),
    route('prefix', { path: { type: 'PathPrefix', value: '/a' } }),
    route('regex', { path: { type: 'RegularExpression', value: '/b[0-9]' } }),
  ]);
  const cases: Array<[string, string | undefined]> = [
    ['/a', 'exact'],
    ['/a/x', 'prefix'],
    ['/b1', 'regex'],
    ['/b12', undefined],
    ['/c', undefined],
  ];
  for (const [path, want] of cases) assert.equal(table.select(req('GET', path))?.name, want, path);
  assert.equal(new PortRoutes([]).select(req('GET', '/')), undefined);
  assert.equal(new PortRoutes([]).size, 0);
});

test('PortRoutes refuses a route with an invalid regex at construction (CONFIG_INVALID)', () => {
  for (const match of [
    { path: { type: 'RegularExpression', value: '(a)\\1' } },
    { headers: [{ name: 'x', type: 'RegularExpression', value: '(?=x)' }] },
    { queryParams: [{ name: 'x', type: 'RegularExpression', value: '[' }] },
    { grpc: { type: 'RegularExpression', method: 'a++' } },
  ] as RouteMatch[]) {
    assert.throws(() => new PortRoutes([route('bad', match)]), (err: unknown) => isMeshError(err, 'CONFIG_INVALID'));
  }
});

test('an unknown match type from the wire is refused, not ignored', () => {
  const bad = { path: { type: 'Glob', value: '/a*' } } as unknown as RouteMatch;
  assert.throws(() => new PortRoutes([route('bad', bad)]), (err: unknown) => isMeshError(err, 'CONFIG_INVALID'));
});
