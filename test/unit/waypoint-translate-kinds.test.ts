// Attachment and route kinds at a waypoint: Service parents (port / sectionName), the waypoint
// Gateway as parent, consumer routes ignored, GRPCRoute matches, TCPRoute backends, and the kind
// precedence GRPCRoute > HTTPRoute > TCPRoute on one Service port (losers reported Conflicted).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ambientNs } from '../helpers/k8s-objects.js';
import { cluster, grpcRoute, meshWithWaypoint, route, svc, tcpRoute, toService, translateWp } from '../helpers/waypoint-objects.js';

const TWO_PORTS = { ports: [{ name: 'http', port: 80 }, { name: 'http-admin', port: 8080 }] };
const rule = (svcName: string, port = 80) => ({ backendRefs: [{ name: svcName, port }] });

test('Service parent: no port ⇒ every port; port or sectionName ⇒ that port only; unknown port reported', () => {
  const t = translateWp(meshWithWaypoint(
    svc('a', TWO_PORTS),
    svc('b', TWO_PORTS),
    svc('c', TWO_PORTS),
    route('all', { parentRefs: toService('a'), rules: [rule('a')] }),
    route('port', { parentRefs: toService('b', 8080), rules: [rule('b')] }),
    route('section', { parentRefs: [{ group: 'core', kind: 'Service', name: 'c', sectionName: 'http' }], rules: [rule('c')] }),
    route('nope', { parentRefs: toService('c', 9999), rules: [rule('c')] }),
  ));
  assert.deepEqual([t.routes('a', 80).length, t.routes('a', 8080).length], [1, 1]);
  assert.deepEqual([t.routes('b', 80).length, t.routes('b', 8080).length], [0, 1]);
  assert.deepEqual([t.routes('c', 80).map((r) => r.source.name), t.routes('c', 8080).length], [['section'], 0]);
  assert.deepEqual(t.problems, ['warning HTTPRoute/default/nope spec.parentRefs[0]: NoMatchingParent: Service default/c has no port with port 9999']);
});

test('the waypoint Gateway as parent: the route applies to every port of every service it serves', () => {
  const t = translateWp(meshWithWaypoint(
    svc('a'),
    svc('b', TWO_PORTS),
    route('wide', { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' }], rules: [rule('a')] }),
  ));
  assert.deepEqual([t.routes('a').length, t.routes('b', 80).length, t.routes('b', 8080).length], [1, 1, 1]);
  assert.deepEqual(t.problems, []);
});

test('a consumer route (other namespace) is reported and ignored; a route to another namespace\'s Gateway not allowed is too', () => {
  const t = translateWp(meshWithWaypoint(
    ambientNs('client'),
    svc('a'),
    route('consumer', { parentRefs: [{ group: '', kind: 'Service', name: 'a', namespace: 'default' }], rules: [rule('a')] }, { ns: 'client' }),
    route('foreign', { parentRefs: [{ kind: 'Gateway', name: 'wp', namespace: 'default' }], rules: [rule('a')] }, { ns: 'client' }),
  ));
  assert.equal(t.routes('a').length, 0);
  assert.deepEqual(t.problems, [
    'warning HTTPRoute/client/consumer spec.parentRefs[0]: consumer route (namespace "client" for Service default/a) is not supported in ambient mode; ignored',
    'warning HTTPRoute/client/foreign spec.parentRefs[0]: NotAllowedByListeners: namespace "client" may not attach routes to waypoint default/wp',
  ]);
});

test('GRPCRoute: service/method matches (Exact, RegularExpression), headers, filters; undeclared port becomes grpc', () => {
  const t = translateWp(meshWithWaypoint(
    svc('g', { ports: [{ name: 'api', port: 9000 }] }),
    grpcRoute('gr', {
      parentRefs: toService('g'),
      rules: [
        { matches: [{ method: { service: 'pkg.Svc', method: 'Get' } }, { method: { type: 'RegularExpression', service: 'pkg\\..*' }, headers: [{ name: 'X-T', value: '1' }] }],
          filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'X-G', value: 'y' }] } }], backendRefs: [{ name: 'g', port: 9000 }] },
        { matches: [{ method: { type: 'Exact' } }], backendRefs: [{ name: 'g', port: 9000 }] },
        { matches: [{ method: { type: 'Exact', service: 'pkg.Svc' } }], filters: [{ type: 'URLRewrite', urlRewrite: {} }] },
      ],
    }),
  ));
  const port = t.port('g', 9000);
  assert.equal(port.protocol, 'grpc');
  assert.deepEqual(port.routes.map((r) => [r.name, r.source.kind, r.match]), [
    ['default/gr.r0.m0', 'GRPCRoute', { grpc: { type: 'Exact', service: 'pkg.Svc', method: 'Get' } }],
    ['default/gr.r0.m1', 'GRPCRoute', { headers: [{ name: 'x-t', type: 'Exact', value: '1' }], grpc: { type: 'RegularExpression', service: 'pkg\\..*' } }],
  ]);
  assert.deepEqual(port.routes[0]!.responseHeaders, { set: [{ name: 'x-g', value: 'y' }] });
  assert.deepEqual(port.routes[0]!.action, { kind: 'forward', backends: [{ cluster: cluster('g', 9000), weight: 1 }] });
  assert.deepEqual(t.problems, [
    'error GRPCRoute/default/gr spec.rules[1].matches[0].method: UnsupportedValue: one or both of service and method must be set; rule dropped',
    'error GRPCRoute/default/gr spec.rules[2].filters[0].type: UnsupportedValue: unsupported filter type "URLRewrite"; rule dropped',
  ]);
});

test('TCPRoute: weighted backends on a tcp port; the oldest of two TCPRoutes wins the port', () => {
  const t = translateWp(meshWithWaypoint(
    svc('db', { ports: [{ name: 'tcp', port: 5432 }] }),
    svc('db2', { ports: [{ name: 'tcp', port: 5432 }] }),
    tcpRoute('old', { parentRefs: toService('db', 5432), rules: [{ backendRefs: [{ name: 'db', port: 5432, weight: 9 }, { name: 'db2', port: 5432 }, { name: 'gone', port: 1 }] }] }, { created: '2024-01-01T00:00:00Z' }),
    tcpRoute('new', { parentRefs: toService('db', 5432), rules: [{ backendRefs: [{ name: 'db2', port: 5432 }] }] }, { created: '2025-01-01T00:00:00Z' }),
  ));
  const port = t.port('db', 5432);
  assert.equal(port.protocol, 'tcp');
  assert.deepEqual(port.tcpBackends, [
    { cluster: cluster('db', 5432), weight: 9 },
    { cluster: cluster('db2', 5432), weight: 1 },
    { weight: 1, invalidReason: 'BackendNotFound' },
  ]);
  assert.ok(t.config.clusters.some((c) => c.name === cluster('db2', 5432)));
  assert.deepEqual(t.problems, [
    'error TCPRoute/default/new spec.parentRefs: Conflicted: TCPRoute default/old already takes Service default/db port 5432',
    'error TCPRoute/default/old spec.rules[0].backendRefs[2]: BackendNotFound: backend(gone.default.svc.cluster.local) not found; its share of connections is refused',
  ]);
});

test('kinds on one Service port: GRPCRoute > HTTPRoute > TCPRoute, losers Conflicted; other ports unaffected', () => {
  const t = translateWp(meshWithWaypoint(
    svc('m', { ports: [{ name: 'grpc', port: 80 }, { name: 'http', port: 81 }, { name: 'tcp', port: 82 }] }),
    grpcRoute('g', { parentRefs: toService('m', 80), rules: [rule('m')] }),
    route('h', { parentRefs: toService('m'), rules: [rule('m')] }),
    tcpRoute('t', { parentRefs: toService('m'), rules: [rule('m', 82)] }),
  ));
  assert.deepEqual(t.routes('m', 80).map((r) => r.source.kind), ['GRPCRoute']);
  assert.deepEqual(t.routes('m', 81).map((r) => r.source.kind), ['HTTPRoute']);
  assert.deepEqual([t.routes('m', 82).length, t.port('m', 82).tcpBackends], [0, [{ cluster: cluster('m', 82), weight: 1 }]]);
  assert.deepEqual(t.problems, [
    'error HTTPRoute/default/h spec.parentRefs: Conflicted: GRPCRoute takes precedence over HTTPRoute on Service default/m port 80; not applied there',
    'error TCPRoute/default/t spec.parentRefs: Conflicted: GRPCRoute takes precedence over TCPRoute on Service default/m port 80; not applied there',
    'error TCPRoute/default/t spec.parentRefs: Conflicted: HTTPRoute takes precedence over TCPRoute on Service default/m port 81; not applied there',
    'warning HTTPRoute/default/h spec.parentRefs: Service default/m port 82 is not an HTTP port (protocol tcp); HTTPRoute ignored there',
  ]);
});
