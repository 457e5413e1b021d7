// translateWaypoints: which services a waypoint serves, their ports' protocols (Istio's appProtocol
// and port-name rules, unknown ⇒ tcp unless an HTTP route attaches), default clusters, and purity.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectPortProtocol, translateAll, translateMesh, translateWaypoints } from '../../src/controlplane/index.js';
import { snapshotOf } from '../../src/k8s/index.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, WAYPOINT_CONFIG_VERSION } from '../../src/waypoint/model/route-model.js';
import { OPTS, namespace, service } from '../helpers/k8s-objects.js';
import { cluster, meshWithWaypoint, route, svc, tcpRoute, toService, translateWp } from '../helpers/waypoint-objects.js';

test('port protocol by appProtocol, then port name prefix (Istio ConvertProtocol); unknown is tcp, undeclared', () => {
  const rows: [{ name?: string; appProtocol?: string }, string, boolean][] = [
    [{ name: 'http' }, 'http', true],
    [{ name: 'http-web' }, 'http', true],
    [{ name: 'HTTP2-x' }, 'http2', true],
    [{ name: 'grpc' }, 'grpc', true],
    [{ name: 'grpc-web' }, 'http', true],
    [{ name: 'grpc-web-x' }, 'http', true],
    [{ name: 'tcp-db' }, 'tcp', true],
    [{ name: 'tls' }, 'tcp', true],
    [{ name: 'https' }, 'tcp', true],
    [{ name: 'mongo' }, 'tcp', true],
    [{ name: 'web' }, 'tcp', false],
    [{ name: 'httpx' }, 'tcp', false],
    [{}, 'tcp', false],
    [{ name: 'tcp', appProtocol: 'http' }, 'http', true],
    [{ name: 'http', appProtocol: 'kubernetes.io/h2c' }, 'http2', true],
    [{ name: 'x', appProtocol: 'kubernetes.io/ws' }, 'http', true],
    [{ name: 'x', appProtocol: 'grpc' }, 'grpc', true],
    // appProtocol set wins over the name even when it names nothing known.
    [{ name: 'http', appProtocol: 'custom' }, 'tcp', false],
  ];
  for (const [port, protocol, declared] of rows) assert.deepEqual(detectPortProtocol(port), { protocol, declared }, JSON.stringify(port));
});

test('a waypoint serves exactly the services using it, every port with its protocol and default cluster', () => {
  const t = translateWp(
    meshWithWaypoint(
      svc('reviews', { ports: [{ name: 'http', port: 80 }, { name: 'grpc-api', port: 9090 }, { name: 'db', port: 5432 }, { port: 7000, appProtocol: 'kubernetes.io/h2c' } as never] }),
      namespace('other'),
      service('elsewhere', { ns: 'other', clusterIP: '10.96.9.9' }),
      svc('optout', { labels: { 'istio.io/use-waypoint': 'none' } }),
    ),
  );
  assert.equal(t.config.version, WAYPOINT_CONFIG_VERSION);
  assert.deepEqual(t.config.waypoint, { namespace: 'default', name: 'wp' });
  assert.deepEqual(t.config.services.map((s) => s.hostname), ['reviews.default.svc.cluster.local']);
  assert.deepEqual(
    t.config.services[0]!.ports.map((p) => [p.port, p.name, p.protocol, p.defaultCluster, p.routes.length]),
    [
      [80, 'http', 'http', cluster('reviews'), 0],
      [5432, 'db', 'tcp', cluster('reviews', 5432), 0],
      [7000, '', 'http2', cluster('reviews', 7000), 0],
      [9090, 'grpc-api', 'grpc', cluster('reviews', 9090), 0],
    ],
  );
  assert.deepEqual(
    t.config.clusters.map((c) => [c.name, c.protocol, c.lb.kind, c.connectTimeoutMs]),
    [
      [cluster('reviews', 5432), 'http1', 'LEAST_REQUEST', DEFAULT_CONNECT_TIMEOUT_MS],
      [cluster('reviews', 7000), 'http2', 'LEAST_REQUEST', DEFAULT_CONNECT_TIMEOUT_MS],
      [cluster('reviews', 80), 'http1', 'LEAST_REQUEST', DEFAULT_CONNECT_TIMEOUT_MS],
      [cluster('reviews', 9090), 'http2', 'LEAST_REQUEST', DEFAULT_CONNECT_TIMEOUT_MS],
    ],
  );
  assert.deepEqual(t.problems, []);
});

test('an undeclared port becomes http when an HTTPRoute attaches; a declared tcp port ignores it (reported)', () => {
  const t = translateWp(
    meshWithWaypoint(
      svc('a', { ports: [{ name: 'web', port: 80 }] }),
      svc('b', { ports: [{ name: 'tcp', port: 80 }] }),
      route('ra', { parentRefs: toService('a'), rules: [{ backendRefs: [{ name: 'a', port: 80 }] }] }),
      route('rb', { parentRefs: toService('b'), rules: [{ backendRefs: [{ name: 'b', port: 80 }] }] }),
    ),
  );
  assert.equal(t.port('a').protocol, 'http');
  assert.equal(t.routes('a').length, 1);
  assert.equal(t.port('b').protocol, 'tcp');
  assert.equal(t.routes('b').length, 0);
  assert.deepEqual(t.problems, ['warning HTTPRoute/default/rb spec.parentRefs: Service default/b port 80 is not an HTTP port (protocol tcp); HTTPRoute ignored there']);
});

test('a waypoint without an address serves nothing; configs follow mesh.waypoints', () => {
  const objects = [namespace('default', { 'istio.io/use-waypoint': 'wp' }), svc('reviews'), ...meshWithWaypoint().filter((o) => o.kind === 'Gateway')];
  const all = translateAll(snapshotOf(objects), OPTS);
  assert.deepEqual(all.waypoints.configs.map((c) => [c.waypoint.name, c.services.length]), [['wp', 0]]);
});

test('translateAll is translateMesh plus translateWaypoints, independent of input order', () => {
  const objects = meshWithWaypoint(
    svc('reviews'),
    svc('db', { ports: [{ name: 'tcp', port: 5432 }] }),
    route('r1', { parentRefs: toService('reviews'), rules: [{ matches: [{ path: { type: 'Exact', value: '/a' } }], backendRefs: [{ name: 'reviews', port: 80 }] }] }),
    tcpRoute('t1', { parentRefs: toService('db', 5432), rules: [{ backendRefs: [{ name: 'db', port: 5432 }] }] }),
  );
  const all = translateAll(snapshotOf(objects), OPTS);
  const mesh = translateMesh(snapshotOf(objects), OPTS);
  assert.deepEqual(all.mesh, mesh);
  assert.deepEqual(all.waypoints, translateWaypoints(snapshotOf(objects), mesh, OPTS));
  assert.deepEqual(translateAll(snapshotOf([...objects].reverse()), OPTS), all);
});
