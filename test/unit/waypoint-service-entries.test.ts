// translateWaypoints for ServiceEntry hosts (the ambient egress waypoint): served with the ports'
// `protocol`, default clusters per host, HTTPRoute parentRefs of kind ServiceEntry, and
// AuthorizationPolicy targetRefs of kind ServiceEntry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authz } from '../helpers/k8s-objects.js';
import { serviceEntry } from '../helpers/service-entry-objects.js';
import { meshWithWaypoint, route, svc, translateWp, virtualService } from '../helpers/waypoint-objects.js';

const HTTPBIN = serviceEntry('httpbin', {
  hosts: ['httpbin.org', 'api.httpbin.org'],
  ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'web', protocol: 'TLS' }, { number: 8080, name: 'alt', protocol: 'HTTP2' }],
  resolution: 'DNS',
});
/** No `protocol`: the port name decides (Istio would sniff). */
const NAMED = serviceEntry('named', { hosts: ['grpc.example.com'], ports: [{ number: 9000, name: 'grpc-api' }], resolution: 'DNS' });
const SE_REF = { group: 'networking.istio.io', kind: 'ServiceEntry', name: 'httpbin' };

test('a ServiceEntry using the waypoint: each host served, protocol from the port `protocol` (else its name), its own clusters', () => {
  const t = translateWp(meshWithWaypoint(HTTPBIN, NAMED));
  assert.deepEqual(t.problems, []);
  assert.deepEqual(t.all.mesh.errors, []);
  assert.deepEqual(t.config.services.map((s) => s.hostname), ['api.httpbin.org', 'grpc.example.com', 'httpbin.org']);
  assert.deepEqual(t.config.services[1]!.ports.map((p) => [p.port, p.protocol]), [[9000, 'grpc']]);
  for (const host of ['api.httpbin.org', 'httpbin.org']) {
    const s = t.config.services.find((x) => x.hostname === host)!;
    assert.equal(s.namespace, 'default');
    assert.deepEqual(s.ports.map((p) => [p.port, p.protocol, p.defaultCluster]), [
      [80, 'http', `outbound|80||${host}`],
      [443, 'tcp', `outbound|443||${host}`],
      [8080, 'http2', `outbound|8080||${host}`],
    ]);
  }
  const c = t.config.clusters.find((x) => x.name === 'outbound|80||httpbin.org')!;
  assert.deepEqual({ hostname: c.hostname, namespace: c.namespace, port: c.port, protocol: c.protocol, lb: c.lb.kind }, { hostname: 'httpbin.org', namespace: 'default', port: 80, protocol: 'http1', lb: 'LEAST_REQUEST' });
});

test('an HTTPRoute with a ServiceEntry parent attaches to every host of it (port or sectionName narrows)', () => {
  const t = translateWp(meshWithWaypoint(
    HTTPBIN,
    route('only-get', { parentRefs: [{ ...SE_REF, port: 80 }], rules: [{ matches: [{ method: 'GET' }] }] }),
    route('nope', { parentRefs: [{ ...SE_REF, sectionName: 'grpc' }], rules: [{}] }),
  ));
  assert.deepEqual(t.problems, ['warning HTTPRoute/default/nope spec.parentRefs[0]: NoMatchingParent: ServiceEntry default/httpbin has no port with sectionName "grpc"'], 'once, not per host');
  for (const host of ['api.httpbin.org', 'httpbin.org']) {
    const port = t.config.services.find((x) => x.hostname === host)!.ports.find((p) => p.port === 80)!;
    assert.deepEqual(port.routes.map((r) => r.name), ['default/only-get.r0.m0']);
  }
  assert.equal(t.config.services.find((x) => x.hostname === 'httpbin.org')!.ports.find((p) => p.port === 8080)!.routes.length, 0);
});

test('a Service parent of the same name is not the ServiceEntry, and the other way round', () => {
  const t = translateWp(meshWithWaypoint(HTTPBIN, svc('httpbin'), route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'httpbin' }], rules: [{}] })));
  assert.equal(t.config.services.find((x) => x.hostname === 'httpbin.org')!.ports[0]!.routes.length, 0);
  assert.equal(t.port('httpbin', 80).routes.length, 1);
});

test('an AuthorizationPolicy targeting the ServiceEntry applies to its hosts at the waypoint', () => {
  const t = translateWp(meshWithWaypoint(HTTPBIN, svc('other'), authz('get-only', 'default', { targetRefs: [SE_REF], rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })));
  assert.deepEqual(t.problems, []);
  assert.deepEqual(t.config.security!.authorization.map((p) => [p.name, p.services]), [['get-only', ['default/api.httpbin.org', 'default/httpbin.org']]]);
});

test('a VirtualService on a ServiceEntry host routes to it (the egress timeout task); subsets of an entry are refused', () => {
  const t = translateWp(meshWithWaypoint(
    HTTPBIN,
    virtualService('httpbin-timeout', {
      hosts: ['httpbin.org'],
      http: [
        { match: [{ uri: { prefix: '/delay' } }], timeout: '3s', route: [{ destination: { host: 'httpbin.org' }, weight: 100 }] },
        { route: [{ destination: { host: 'httpbin.org', subset: 'v1' } }] },
      ],
    }),
  ));
  const port = t.config.services.find((x) => x.hostname === 'httpbin.org')!.ports.find((p) => p.port === 80)!;
  const [timed, subset] = port.routes;
  assert.deepEqual(timed!.action, { kind: 'forward', backends: [{ cluster: 'outbound|80||httpbin.org', weight: 100 }] });
  assert.equal(timed!.timeouts?.requestMs, 3000);
  assert.deepEqual(subset!.action, { kind: 'forward', backends: [{ invalidStatus: 500, invalidReason: 'SubsetNotFound', weight: 100 }] });
  assert.deepEqual(t.problems, [
    'error VirtualService/default/httpbin-timeout spec.http[1].route[0].destination.subset: SubsetNotFound: subsets of ServiceEntry host httpbin.org are not supported; its share is answered 500',
  ]);
});
