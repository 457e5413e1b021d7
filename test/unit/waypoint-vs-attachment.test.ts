// Which VirtualService applies to a Service at a waypoint: hosts (short, FQDN, wildcard), mesh
// binding, namespaces, exportTo, the oldest of several, the VirtualService owning the Service over
// HTTPRoutes (Conflicted, never merged), tcp routes, undeclared ports; the three served versions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject, type KubeObject } from '../../src/k8s/index.js';
import { ambientNs, gateway, service } from '../helpers/k8s-objects.js';
import { cluster, destinationRule, meshWithWaypoint, route, svc, tcpRoute, toService, translateWp, virtualService } from '../helpers/waypoint-objects.js';

const D = (host = 'reviews'): Record<string, unknown>[] => [{ destination: { host } }];
const owned = (t: ReturnType<typeof translateWp>, name = 'reviews'): string[] => t.routes(name).map((r) => `${r.source.kind}/${r.source.namespace}/${r.source.name}`);

test('hosts: short names resolve in the VirtualService namespace, FQDNs and wildcards match; other spellings do not', () => {
  const rows: [string, string[], boolean][] = [
    ['short name', ['reviews'], true],
    ['FQDN', ['reviews.default.svc.cluster.local'], true],
    ['namespace wildcard', ['*.default.svc.cluster.local'], true],
    ['cluster wildcard', ['*.svc.cluster.local'], true],
    ['name.namespace is taken as written (istiod)', ['reviews.default'], false],
    ['another service', ['ratings'], false],
  ];
  for (const [what, hosts, applies] of rows) {
    const t = translateWp(meshWithWaypoint(svc('reviews'), virtualService('vs', { hosts, http: [{ route: D() }] })));
    assert.deepEqual(owned(t), applies ? ['VirtualService/default/vs'] : [], what);
    assert.deepEqual(t.problems, [], what);
  }
  const star = translateWp(meshWithWaypoint(svc('reviews'), virtualService('vs', { hosts: ['*', 'reviews'], http: [{ route: D() }] })));
  assert.deepEqual(owned(star), ['VirtualService/default/vs']);
  assert.deepEqual(star.problems, ['error VirtualService/default/vs spec.hosts[0]: wildcard host * is not allowed for virtual services bound to the mesh; host ignored']);
});

test('only mesh-bound VirtualServices, visible to the waypoint, in the Service\'s or the waypoint\'s namespace apply', () => {
  const other = [ambientNs('apps'), service('reviews', { ns: 'apps', clusterIP: '10.96.2.1', labels: { 'istio.io/use-waypoint': 'wp', 'istio.io/use-waypoint-namespace': 'default' } })];
  const rows: [string, KubeObject[], string[]][] = [
    ['gateways absent', [virtualService('vs', { hosts: ['reviews'], http: [{ route: D() }] })], ['VirtualService/default/vs']],
    ['gateways with mesh', [virtualService('vs', { hosts: ['reviews'], gateways: ['mesh', 'gw'], http: [{ route: D() }] })], ['VirtualService/default/vs']],
    ['gateways without mesh', [virtualService('vs', { hosts: ['reviews'], gateways: ['istio-system/gw'], http: [{ route: D() }] })], []],
    ['exportTo "." (same namespace as the waypoint)', [virtualService('vs', { hosts: ['reviews'], exportTo: ['.'], http: [{ route: D() }] })], ['VirtualService/default/vs']],
    ['exportTo another namespace only', [virtualService('vs', { hosts: ['reviews'], exportTo: ['elsewhere'], http: [{ route: D() }] })], []],
  ];
  for (const [what, extra, expected] of rows) {
    assert.deepEqual(owned(translateWp(meshWithWaypoint(svc('reviews'), ...extra))), expected, what);
  }
  // A Service in namespace apps served by default/wp: VirtualServices in apps or default apply, not in a third one.
  const allNs = { listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE', allowedRoutes: { namespaces: { from: 'All' } } }] };
  const meshAllNs = (...extra: KubeObject[]): KubeObject[] => meshWithWaypoint(...extra).map((o) => (o.kind === 'Gateway' ? gateway('wp', allNs) : o));
  const inApps = translateWp(meshAllNs(...other, virtualService('vs', { hosts: ['reviews'], http: [{ route: D() }] }, { ns: 'apps' })));
  assert.deepEqual(inApps.config.services.find((s) => s.namespace === 'apps')!.ports[0]!.routes.map((r) => r.source.name), ['vs']);
  const inWaypointNs = translateWp(meshAllNs(...other, virtualService('vs', { hosts: ['reviews.apps.svc.cluster.local'], http: [{ route: D('reviews.apps.svc.cluster.local') }] })));
  assert.deepEqual(inWaypointNs.config.services.find((s) => s.namespace === 'apps')!.ports[0]!.routes.map((r) => r.source.name), ['vs']);
  const inThird = translateWp(meshAllNs(...other, ambientNs('third'), virtualService('vs', { hosts: ['reviews.apps.svc.cluster.local'], http: [{ route: D('reviews.apps.svc.cluster.local') }] }, { ns: 'third' })));
  assert.deepEqual(inThird.config.services.find((s) => s.namespace === 'apps')!.ports[0]!.routes, []);
});

test('several VirtualServices for one Service: the oldest applies, the others are Conflicted', () => {
  const t = translateWp(meshWithWaypoint(
    svc('reviews'),
    virtualService('newer', { hosts: ['reviews'], http: [{ route: D() }] }, { created: '2026-02-01T00:00:00Z' }),
    virtualService('older', { hosts: ['*.default.svc.cluster.local'], http: [{ route: D() }] }, { created: '2026-01-01T00:00:00Z' }),
  ));
  assert.deepEqual(owned(t), ['VirtualService/default/older']);
  assert.deepEqual(t.problems, ['error VirtualService/default/newer spec.hosts: Conflicted: VirtualService default/older (older) already applies to Service default/reviews; not applied there']);
});

test('a VirtualService owns its Service: HTTPRoutes and TCPRoutes attached there are Conflicted, other Services keep theirs', () => {
  const t = translateWp(meshWithWaypoint(
    svc('reviews', { ports: [{ name: 'http', port: 80 }, { name: 'tcp', port: 9000 }] }),
    svc('ratings'),
    virtualService('vs', { hosts: ['reviews'], http: [{ match: [{ uri: { prefix: '/v' } }], route: D() }] }),
    route('hr', { parentRefs: [...toService('reviews'), ...toService('ratings')], rules: [{ backendRefs: [{ name: 'ratings', port: 80 }] }] }),
    tcpRoute('tr', { parentRefs: toService('reviews', 9000), rules: [{ backendRefs: [{ name: 'reviews', port: 9000 }] }] }),
  ));
  assert.deepEqual(owned(t), ['VirtualService/default/vs']);
  assert.deepEqual(t.port('reviews', 9000).tcpBackends, undefined);
  assert.deepEqual(owned(t, 'ratings'), ['HTTPRoute/default/hr']);
  assert.deepEqual(t.problems.sort(), [
    'error HTTPRoute/default/hr spec.parentRefs: Conflicted: VirtualService default/vs owns Service default/reviews at this waypoint (mixing VirtualService and Gateway API routes on one host is unsupported); not applied there',
    'error TCPRoute/default/tr spec.parentRefs: Conflicted: VirtualService default/vs owns Service default/reviews at this waypoint (mixing VirtualService and Gateway API routes on one host is unsupported); not applied there',
  ]);
});

test('ports: http rules on HTTP ports, tcp rules on TCP ports; an undeclared port is HTTP when http routes apply, else TCP', () => {
  const t = translateWp(meshWithWaypoint(
    svc('reviews', { ports: [{ name: 'http', port: 80 }, { name: 'tcp-db', port: 5432 }, { name: 'custom', port: 7000 }, { name: 'other', port: 7001 }] }),
    svc('ratings', { ports: [{ name: 'tcp', port: 5432 }] }),
    virtualService('vs', {
      hosts: ['reviews'],
      http: [{ match: [{ port: 80 }, { port: 7000 }], route: D() }],
      tcp: [
        { match: [{ port: 9999 }], route: [{ destination: { host: 'ratings' } }] },
        { match: [{ port: 5432 }, { port: 7001 }], route: [{ destination: { host: 'ratings', port: { number: 5432 } }, weight: 80 }, { destination: { host: 'nowhere' }, weight: 20 }] },
      ],
    }),
  ));
  assert.equal(t.port('reviews', 80).protocol, 'http');
  assert.equal(t.port('reviews', 80).routes.length, 1);
  assert.equal(t.port('reviews', 7000).protocol, 'http');
  const db = t.port('reviews', 5432);
  assert.equal(db.protocol, 'tcp');
  assert.deepEqual(db.routes, []);
  assert.deepEqual(db.tcpBackends, [{ cluster: cluster('ratings', 5432), weight: 80 }, { weight: 20, invalidReason: 'BackendNotFound' }]);
  assert.equal(t.port('reviews', 7001).protocol, 'tcp');
  assert.deepEqual(t.port('reviews', 7001).tcpBackends, db.tcpBackends);
  assert.deepEqual(t.problems, [
    'error VirtualService/default/vs spec.tcp[1].route[1].destination.host: BackendNotFound: destination host nowhere.default.svc.cluster.local is not a Service of this cluster (ServiceEntry and external hosts are not supported); its share of connections is refused',
  ]);
});

test('a VirtualService with nothing for a port leaves it forwarding to the Service (istiod falls back)', () => {
  const t = translateWp(meshWithWaypoint(svc('reviews'), virtualService('vs', { hosts: ['reviews'], http: [{ match: [{ port: 8080 }], route: D() }] })));
  assert.deepEqual(t.port('reviews').routes, []);
  assert.equal(t.port('reviews').defaultCluster, cluster('reviews'));
});

test('VirtualService and DestinationRule are accepted in networking.istio.io v1, v1beta1 and v1alpha3', () => {
  for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
    const vs = virtualService('vs', { hosts: ['reviews'], http: [{ route: D(), timeout: '1s', corsPolicy: { allowOrigins: [{ exact: 'https://a' }] } }] }, { version });
    const dr = destinationRule('dr', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } }, subsets: [{ name: 'v1', labels: { v: '1' } }] }, { version });
    for (const o of [vs, dr]) {
      const v = validateObject(JSON.parse(JSON.stringify(o)));
      assert.equal(v.ok, true, `${o.kind} ${version}: ${JSON.stringify(v)}`);
    }
    const t = translateWp(meshWithWaypoint(svc('reviews'), vs, dr));
    assert.deepEqual(owned(t), ['VirtualService/default/vs'], version);
    assert.deepEqual(t.config.clusters.find((c) => c.name === cluster('reviews'))!.lb, { kind: 'RANDOM' }, version);
  }
  const bad = validateObject({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'x', namespace: 'default' }, spec: { hosts: 'reviews' } });
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.ok ? [] : bad.problems.map((p) => p.path), ['spec.hosts']);
});
