// VirtualService http matches → model RouteMatches: uri kinds and ignoreUriCase, headers,
// withoutHeaders, query parameters, method, authority, scheme, port; VirtualService order (not
// Gateway API precedence), one Route per match, nothing after a catch-all; matches a waypoint
// cannot evaluate left out; invalid matches drop their rule with the field path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteMatch } from '../../src/waypoint/model/route-model.js';
import { meshWithWaypoint, svc, translateWp, virtualService } from '../helpers/waypoint-objects.js';

const DEST = [{ destination: { host: 'reviews' } }];

/** The routes of reviews:80 for a VirtualService with `http` rules, and the problems. */
function compile(http: Record<string, unknown>[], o: { ports?: { name?: string; port: number }[]; port?: number } = {}) {
  const t = translateWp(meshWithWaypoint(svc('reviews', o.ports ? { ports: o.ports } : {}), virtualService('vs', { hosts: ['reviews'], http })));
  return { routes: t.routes('reviews', o.port ?? 80), problems: t.problems };
}

test('each match field compiles into the model', () => {
  const rows: [string, Record<string, unknown>, RouteMatch][] = [
    ['uri exact', { uri: { exact: '/a' } }, { path: { type: 'Exact', value: '/a' } }],
    ['uri prefix (plain string prefix)', { uri: { prefix: '/api' } }, { path: { type: 'Prefix', value: '/api' } }],
    ['uri regex', { uri: { regex: '/v[0-9]+/.*' } }, { path: { type: 'RegularExpression', value: '/v[0-9]+/.*' } }],
    ['ignoreUriCase', { uri: { prefix: '/API' }, ignoreUriCase: true }, { path: { type: 'Prefix', value: '/API', ignoreCase: true } }],
    ['headers exact/prefix/regex, names lower case', { headers: { 'End-User': { exact: 'jason' }, 'X-P': { prefix: 'ab' }, 'x-r': { regex: 'v[12]' } } },
      { headers: [{ name: 'end-user', type: 'Exact', value: 'jason' }, { name: 'x-p', type: 'Prefix', value: 'ab' }, { name: 'x-r', type: 'RegularExpression', value: 'v[12]' }] }],
    ['header presence ({})', { headers: { 'x-any': {} } }, { headers: [{ name: 'x-any', type: 'Present', value: '' }] }],
    ['withoutHeaders inverts', { withoutHeaders: { 'x-canary': { exact: 'true' }, 'x-gone': {} } },
      { headers: [{ name: 'x-canary', type: 'Exact', value: 'true', invert: true }, { name: 'x-gone', type: 'Present', value: '', invert: true }] }],
    ['authority is the Host header', { authority: { prefix: 'reviews' } }, { headers: [{ name: 'host', type: 'Prefix', value: 'reviews' }] }],
    ['method exact', { method: { exact: 'POST' } }, { method: 'POST' }],
    ['queryParams exact/regex/present, names as written', { queryParams: { Page: { exact: '2' }, q: { regex: 'a.*' }, flag: {} } },
      { queryParams: [{ name: 'Page', type: 'Exact', value: '2' }, { name: 'q', type: 'RegularExpression', value: 'a.*' }, { name: 'flag', type: 'Present', value: '' }] }],
    ['scheme http always holds at a waypoint: dropped', { scheme: { exact: 'http' }, uri: { exact: '/s' } }, { path: { type: 'Exact', value: '/s' } }],
    ['port equal to the served port', { port: 80, uri: { exact: '/p' } }, { path: { type: 'Exact', value: '/p' } }],
    ['gateways including mesh', { gateways: ['mesh', 'istio-system/gw'], uri: { exact: '/g' } }, { path: { type: 'Exact', value: '/g' } }],
  ];
  for (const [what, match, expected] of rows) {
    const { routes, problems } = compile([{ match: [match], route: DEST }]);
    assert.deepEqual(problems, [], what);
    assert.equal(routes.length, 1, what);
    assert.deepEqual(routes[0]!.match, expected, what);
    assert.deepEqual(routes[0]!.source, { kind: 'VirtualService', namespace: 'default', name: 'vs', rule: 0, match: 0 }, what);
  }
});

test('routes keep the VirtualService order, one per match, named <ns>/<vs>.r<i>.m<j>; nothing after a catch-all', () => {
  const { routes } = compile([
    { match: [{ uri: { prefix: '/' } , headers: { a: { exact: '1' } } }], route: DEST },
    // Exact after prefix: Gateway API precedence would put it first; a VirtualService keeps order.
    { match: [{ uri: { exact: '/x' } }, { method: { exact: 'GET' } }], route: DEST },
    { match: [{ uri: { prefix: '/' } }], route: DEST },
    { match: [{ uri: { exact: '/never' } }], route: DEST },
  ]);
  assert.deepEqual(routes.map((r) => r.name), ['default/vs.r0.m0', 'default/vs.r1.m0', 'default/vs.r1.m1', 'default/vs.r2.m0']);
  const noMatch = compile([{ route: DEST }, { match: [{ uri: { exact: '/late' } }], route: DEST }]).routes;
  assert.deepEqual(noMatch.map((r) => [r.name, r.match]), [['default/vs.r0.m0', {}]]);
});

test('a match for another port is left out at this port; a rule with no match left has no route', () => {
  const ports = [{ name: 'http', port: 80 }, { name: 'http-admin', port: 8080 }];
  const http = [
    { match: [{ port: 8080, uri: { prefix: '/admin' } }], route: DEST },
    { match: [{ port: 80, uri: { prefix: '/web' } }, { port: 8080, uri: { prefix: '/both' } }], route: DEST },
  ];
  assert.deepEqual(compile(http, { ports, port: 80 }).routes.map((r) => r.name), ['default/vs.r1.m0']);
  assert.deepEqual(compile(http, { ports, port: 8080 }).routes.map((r) => r.name), ['default/vs.r0.m0', 'default/vs.r1.m1']);
});

test('matches a waypoint cannot evaluate are left out (never widened to everyone)', () => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['sourceLabels', { sourceLabels: { app: 'sleep' } }, ['warning VirtualService/default/vs spec.http[0].match[0].sourceLabels: sourceLabels select client sidecars and cannot be evaluated at a waypoint; this match is left out']],
    ['sourceNamespace', { sourceNamespace: 'other' }, ['warning VirtualService/default/vs spec.http[0].match[0].sourceNamespace: sourceNamespace selects client sidecars and cannot be evaluated at a waypoint; this match is left out']],
    ['scheme https', { scheme: { exact: 'https' } }, ['warning VirtualService/default/vs spec.http[0].match[0].scheme: requests reach a waypoint with scheme "http"; this match never applies and is left out']],
    ['gateways without mesh', { gateways: ['istio-system/ingress'] }, []],
  ];
  for (const [what, match, problems] of rows) {
    const r = compile([{ match: [match], route: DEST }, { match: [{ uri: { exact: '/other' } }], route: DEST }]);
    // The rule with the skipped match did not become a catch-all: the next rule still serves.
    assert.deepEqual(r.routes.map((x) => x.name), ['default/vs.r1.m0'], what);
    assert.deepEqual(r.problems, problems, what);
  }
});

test('an invalid match drops its rule with the field path; the other rules still serve', () => {
  const rows: [Record<string, unknown>, string][] = [
    [{ uri: { regex: '/(a' } }, 'spec.http[1].match[0].uri.regex: invalid regular expression'],
    [{ uri: { exact: '/a', prefix: '/b' } }, 'spec.http[1].match[0].uri: only one of exact, prefix, regex may be set (got exact, prefix); rule dropped'],
    [{ uri: { prefix: '' } }, 'spec.http[1].match[0].uri.prefix: prefix string match should not be empty; rule dropped'],
    [{ method: { prefix: 'P' } }, "spec.http[1].match[0].method: only an exact method match is supported by Ambit's waypoint; rule dropped"],
    [{ headers: { 'x-a': { regex: '(?<=a)b' } } }, 'spec.http[1].match[0].headers[x-a].regex: invalid regular expression'],
    [{ queryParams: { q: { prefix: 'a' } } }, 'spec.http[1].match[0].queryParams[q].prefix: prefix matching of query parameters is not supported (Istio API); rule dropped'],
    [{ headers: { '@request.auth.claims.sub': { exact: 'a' } } }, 'spec.http[1].match[0].headers[@request.auth.claims.sub]: JWT claim based routing is only supported for gateways (istiod validation); rule dropped'],
  ];
  for (const [bad, problem] of rows) {
    const r = compile([{ match: [{ uri: { exact: '/good' } }], route: DEST }, { match: [bad], route: DEST }]);
    assert.deepEqual(r.routes.map((x) => x.name), ['default/vs.r0.m0'], problem);
    assert.equal(r.problems.length, 1, problem);
    assert.ok(r.problems[0]!.startsWith(`error VirtualService/default/vs ${problem}`), `${r.problems[0]} should start with ${problem}`);
  }
});
