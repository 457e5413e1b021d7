// Route precedence on one service port: the Gateway API order (Exact > longer PathPrefix > regex,
// method, headers, query params, age, namespace/name, rule, match), with the spec's worked examples.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePrecedence, precedenceKey } from '../../src/controlplane/index.js';
import type { RouteMatch } from '../../src/waypoint/model/route-model.js';
import { meshWithWaypoint, route, svc, toService, translateWp } from '../helpers/waypoint-objects.js';

const meta = { created: '', object: 'default/r', rule: 0, match: 0 };
const key = (m: RouteMatch, over: Partial<typeof meta> = {}) => precedenceKey(m, { ...meta, ...over });

test('comparator: each step decides only on a tie of the ones before', () => {
  // [winner, loser, why]
  const rows: [ReturnType<typeof key>, ReturnType<typeof key>, string][] = [
    [key({ path: { type: 'Exact', value: '/' } }), key({ path: { type: 'PathPrefix', value: '/a/b/c' } }), 'Exact beats any prefix'],
    [key({ path: { type: 'PathPrefix', value: '/abc' } }), key({ path: { type: 'PathPrefix', value: '/ab' }, method: 'GET', headers: [{ name: 'a', type: 'Exact', value: 'b' }] }), 'longer prefix first'],
    [key({ path: { type: 'Exact', value: '/long/path' } }), key({ path: { type: 'Exact', value: '/short' } }), 'longer exact first'],
    [key({ path: { type: 'PathPrefix', value: '/' } }), key({ path: { type: 'RegularExpression', value: '/.*/very/long/regex' } }), 'Istio: prefix beats regex'],
    [key({ path: { type: 'RegularExpression', value: '/abc.*' } }), key({ path: { type: 'RegularExpression', value: '/a.*' } }), 'Istio: longer regex first'],
    [key({ method: 'GET' }), key({ headers: [{ name: 'a', type: 'Exact', value: '1' }, { name: 'b', type: 'Exact', value: '2' }] }), 'method beats headers'],
    [key({ headers: [{ name: 'a', type: 'Exact', value: '1' }, { name: 'b', type: 'Exact', value: '2' }] }), key({ headers: [{ name: 'a', type: 'Exact', value: '1' }], queryParams: [{ name: 'q', type: 'Exact', value: '1' }] }), 'more headers beat query params'],
    [key({ queryParams: [{ name: 'q', type: 'Exact', value: '1' }] }), key({}), 'more query params'],
    [key({}, { created: '2024-01-01T00:00:00Z', object: 'default/z' }), key({}, { created: '2024-06-01T00:00:00Z', object: 'default/a' }), 'older route first'],
    [key({}, { object: 'a/z' }), key({}, { object: 'b/a' }), 'then namespace/name'],
    [key({}, { rule: 0, match: 5 }), key({}, { rule: 1, match: 0 }), 'then rule order'],
    [key({}, { match: 0 }), key({}, { match: 1 }), 'then match order'],
    [key({ grpc: { type: 'Exact', service: 's', method: 'm' } }), key({ grpc: { type: 'Exact', service: 'a.very.long.Service' } }), 'gRPC service+method (exact path) beats service only (prefix)'],
    [key({ grpc: { type: 'Exact', service: 'a.very.long.Service' } }), key({ grpc: { type: 'Exact', service: 'svc' } }), 'longer gRPC service first'],
    [key({ grpc: { type: 'Exact', service: 'svc' } }), key({ grpc: { type: 'Exact', method: 'Get' } }), 'gRPC service (prefix) beats method only (regex)'],
  ];
  for (const [a, b, why] of rows) {
    assert.ok(comparePrecedence(a, b) < 0, why);
    assert.ok(comparePrecedence(b, a) > 0, `${why} (reversed)`);
  }
});

/** Rule names (route.rRULE) in the order the waypoint evaluates them on reviews:80. */
function order(rules: Record<string, unknown>[]): string[] {
  const t = translateWp(meshWithWaypoint(svc('reviews'), route('r', { parentRefs: toService('reviews'), rules: rules.map((r) => ({ ...r, backendRefs: [{ name: 'reviews', port: 80 }] })) })));
  return t.routes('reviews').map((r) => r.name.replace('default/r.', ''));
}

test('the Gateway API worked examples (conformance HTTPRouteMatchingAcrossRoutes / MeshHTTPRouteMatching)', () => {
  // version: two + color: orange → the rule with two header matches wins.
  assert.deepEqual(order([
    { matches: [{ headers: [{ name: 'version', value: 'two' }] }] },
    { matches: [{ headers: [{ name: 'version', value: 'two' }, { name: 'color', value: 'orange' }] }] },
  ]), ['r1.m0', 'r0.m0']);
  // PATCH /path5 → PathPrefix /path5 beats method PATCH (prefix length first).
  assert.deepEqual(order([{ matches: [{ method: 'PATCH' }] }, { matches: [{ path: { type: 'PathPrefix', value: '/path5' } }] }]), ['r1.m0', 'r0.m0']);
  // PATCH / + version: four → method beats headers.
  assert.deepEqual(order([{ matches: [{ headers: [{ name: 'version', value: 'four' }] }] }, { matches: [{ method: 'PATCH' }] }]), ['r1.m0', 'r0.m0']);
  // /?animal=whale + version: one → header+query beats query only.
  assert.deepEqual(order([
    { matches: [{ queryParams: [{ name: 'animal', value: 'whale' }] }] },
    { matches: [{ headers: [{ name: 'version', value: 'one' }], queryParams: [{ name: 'animal', value: 'whale' }] }] },
  ]), ['r1.m0', 'r0.m0']);
  // /path5?animal=hydra → PathPrefix /path5 beats query only.
  assert.deepEqual(order([{ matches: [{ queryParams: [{ name: 'animal', value: 'hydra' }] }] }, { matches: [{ path: { value: '/path5' } }] }]), ['r1.m0', 'r0.m0']);
});

test('across routes: all matches of all routes compete; ties go to the older route, then namespace/name', () => {
  const t = translateWp(meshWithWaypoint(
    svc('reviews'),
    route('b-new', { parentRefs: toService('reviews'), rules: [{ matches: [{ path: { value: '/x' } }, { path: { type: 'Exact', value: '/x/y' } }], backendRefs: [{ name: 'reviews', port: 80 }] }] }, { created: '2025-02-01T00:00:00Z' }),
    route('a-new', { parentRefs: toService('reviews'), rules: [{ matches: [{ path: { value: '/x' } }], backendRefs: [{ name: 'reviews', port: 80 }] }] }, { created: '2025-02-01T00:00:00Z' }),
    route('z-old', { parentRefs: toService('reviews'), rules: [{ matches: [{ path: { value: '/x' } }], backendRefs: [{ name: 'reviews', port: 80 }] }] }, { created: '2024-01-01T00:00:00Z' }),
  ));
  assert.deepEqual(t.routes('reviews').map((r) => r.name), ['default/b-new.r0.m1', 'default/z-old.r0.m0', 'default/a-new.r0.m0', 'default/b-new.r0.m0']);
});
