// Table-driven tests of the outbound routing decision (ztunnel src/proxy/outbound.rs) over a real
// ProxyState built from ztunnel-format YAML: VIPs, pod IPs, TCP vs HBONE, passthrough, waypoints,
// recursion.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OwnListeners, routeOutbound, type OwnListener, type Route } from '../../src/proxy/index.js';
import { ProxyState } from '../../src/state/index.js';
import { parseLocalConfig } from '../../src/xds/index.js';

const YAML = `
workloads:
- uid: c//Pod/default/client
  name: client
  namespace: default
  serviceAccount: client
  workloadIps: ["10.0.0.1"]
  protocol: HBONE
  node: a
- uid: c//Pod/default/web
  name: web
  namespace: default
  serviceAccount: web
  workloadIps: ["10.0.1.1"]
  protocol: HBONE
  node: b
  services:
    "default/web.default.svc.cluster.local": {80: 8080}
- uid: c//Pod/default/legacy
  name: legacy
  namespace: default
  workloadIps: ["10.0.2.1"]
  protocol: TCP
  services:
    "default/legacy.default.svc.cluster.local": {80: 9090}
- uid: c//Pod/default/waypoint
  name: waypoint
  namespace: default
  serviceAccount: waypoint
  workloadIps: ["10.0.3.1"]
  protocol: HBONE
  services:
    "default/waypoint.default.svc.cluster.local": {15008: 15008}
- uid: c//Pod/default/sick
  name: sick
  namespace: default
  workloadIps: ["10.0.4.1"]
  protocol: HBONE
  status: Unhealthy
  services:
    "default/sick.default.svc.cluster.local": {80: 8080}
services:
- name: web
  namespace: default
  hostname: web.default.svc.cluster.local
  vips: ["/10.96.0.1"]
  ports: {80: 8080}
  subjectAltNames: ["spiffe://cluster.local/ns/default/sa/web-extra"]
- name: legacy
  namespace: default
  hostname: legacy.default.svc.cluster.local
  vips: ["/10.96.0.2"]
  ports: {80: 9090}
- name: waypoint
  namespace: default
  hostname: waypoint.default.svc.cluster.local
  vips: ["/10.96.0.3"]
  ports: {15008: 15008}
- name: behind-waypoint
  namespace: default
  hostname: bw.default.svc.cluster.local
  vips: ["/10.96.0.4"]
  ports: {80: 8080}
  waypoint: {destination: "default/waypoint.default.svc.cluster.local", hboneMtlsPort: 15008}
- name: sick
  namespace: default
  hostname: sick.default.svc.cluster.local
  vips: ["/10.96.0.5"]
  ports: {80: 8080}
- name: passthrough
  namespace: default
  hostname: pt.default.svc.cluster.local
  vips: ["/10.96.0.6"]
  ports: {80: 80}
  loadBalancer: {mode: Passthrough}
`;

const state = new ProxyState();
state.apply(parseLocalConfig(YAML, 'route-test.yaml').snapshot);
const client = state.workloadByUid('c//Pod/default/client')!;

/** The host agent's listeners: proxy ports on `::`, admin on loopback, stats on `::`; 10.9.9.9 is this host. */
const OWN: OwnListener[] = [
  ...[15001, 15006, 15008, 15080].map((port) => ({ name: `proxy ${port}`, host: '::', port })),
  { name: 'admin', host: '127.0.0.1', port: 15000 },
  { name: 'stats', host: '::', port: 15020 },
];
const own = new OwnListeners({ listeners: () => OWN, localAddresses: () => ['127.0.0.1', '::1', '10.9.9.9'] });

function route(ip: string, port: number): Route {
  return routeOutbound(
    { state, source: client, dst: { ip, port }, network: '', hbonePort: 15008, ownListenerAt: (dst) => own.at(dst) },
    '10.0.0.1',
  );
}

const cases: Array<{ name: string; ip: string; port: number; expect: Record<string, unknown> }> = [
  {
    name: 'service VIP → HBONE to the endpoint, authority pod IP:target port, SANs service + workload',
    ip: '10.96.0.1',
    port: 80,
    expect: {
      kind: 'hbone',
      nextHop: '10.0.1.1:15008',
      authority: '10.0.1.1:8080',
      expectedSans: ['spiffe://cluster.local/ns/default/sa/web-extra', 'spiffe://cluster.local/ns/default/sa/web'],
      viaWaypoint: false,
    },
  },
  { name: 'pod IP → HBONE with the original port', ip: '10.0.1.1', port: 8080, expect: { kind: 'hbone', authority: '10.0.1.1:8080', expectedSans: ['spiffe://cluster.local/ns/default/sa/web'] } },
  { name: 'TCP workload service → plain TCP to pod IP:target port', ip: '10.96.0.2', port: 80, expect: { kind: 'tcp', target: '10.0.2.1:9090' } },
  { name: 'unknown address → passthrough', ip: '192.0.2.7', port: 443, expect: { kind: 'passthrough', target: '192.0.2.7:443' } },
  { name: 'PASSTHROUGH service → original destination', ip: '10.96.0.6', port: 80, expect: { kind: 'passthrough', target: '10.96.0.6:80' } },
  {
    name: 'service with a waypoint → HBONE to the waypoint, authority = original VIP:port',
    ip: '10.96.0.4',
    port: 80,
    expect: { kind: 'hbone', nextHop: '10.0.3.1:15008', authority: '10.96.0.4:80', viaWaypoint: true, expectedSans: ['spiffe://cluster.local/ns/default/sa/waypoint'] },
  },
];

for (const c of cases) {
  test(`route: ${c.name}`, () => {
    const r = route(c.ip, c.port);
    const flat: Record<string, unknown> = { kind: r.kind };
    if (r.kind === 'hbone') {
      Object.assign(flat, { nextHop: `${r.nextHop.ip}:${r.nextHop.port}`, authority: r.authority, expectedSans: r.expectedSans, viaWaypoint: r.viaWaypoint });
    } else if (r.kind === 'dns') {
      flat.target = `${r.hostname}:${r.port}`;
    } else {
      flat.target = `${r.target.ip}:${r.target.port}`;
    }
    for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(flat[k], v, `${k}`);
  });
}

test('route: a service whose only endpoint is unhealthy → NO_HEALTHY_UPSTREAM', () => {
  assert.throws(() => route('10.96.0.5', 80), { code: 'NO_HEALTHY_UPSTREAM' });
});

test('route: a service port the service does not define → NO_HEALTHY_UPSTREAM', () => {
  assert.throws(() => route('10.96.0.1', 81), { code: 'NO_HEALTHY_UPSTREAM' });
});

test('route: loopback to one of the proxy ports is a recursive call', () => {
  assert.throws(() => route('127.0.0.1', 15001), { code: 'SELF_CALL' });
  assert.equal(route('127.0.0.1', 8080).kind, 'passthrough');
});

const selfCalls: Array<{ name: string; ip: string; port: number }> = [
  { name: 'admin on loopback', ip: '127.0.0.1', port: 15000 },
  { name: 'admin through the unspecified address', ip: '0.0.0.0', port: 15000 },
  { name: 'stats through IPv4-mapped loopback', ip: '::ffff:7f00:1', port: 15020 },
  { name: 'stats on an address of this host (wildcard bind)', ip: '10.9.9.9', port: 15020 },
  { name: 'stats on the IPv4-mapped form of this host', ip: '::ffff:10.9.9.9', port: 15020 },
];

for (const c of selfCalls) {
  test(`route: ${c.name} is refused as SELF_CALL before routing`, () => {
    assert.throws(() => route(c.ip, c.port), { code: 'SELF_CALL' });
  });
}

test('route: the same ports elsewhere are routed normally', () => {
  assert.equal(route('192.0.2.7', 15000).kind, 'passthrough');
  assert.equal(route('10.0.1.1', 15020).kind, 'hbone');
});

test('route: a plain-TCP endpoint whose target is an own listener is refused after routing', () => {
  const tcpState = new ProxyState();
  tcpState.apply(
    parseLocalConfig(
      `
workloads:
- uid: c//Pod/default/client
  name: client
  namespace: default
  workloadIps: ["10.0.0.1"]
  protocol: HBONE
- uid: c//Pod/default/hostnet
  name: hostnet
  namespace: default
  workloadIps: ["10.9.9.9"]
  protocol: TCP
  services:
    "default/sneaky.default.svc.cluster.local": {80: 15020}
services:
- name: sneaky
  namespace: default
  hostname: sneaky.default.svc.cluster.local
  vips: ["/10.96.9.9"]
  ports: {80: 15020}
`,
      'tcp-self.yaml',
    ).snapshot,
  );
  const src = tcpState.workloadByUid('c//Pod/default/client')!;
  const input = { state: tcpState, source: src, network: '', hbonePort: 15008, ownListenerAt: (d: { ip: string; port: number }) => own.at(d) };
  assert.throws(() => routeOutbound({ ...input, dst: { ip: '10.96.9.9', port: 80 } }, '10.0.0.1'), { code: 'SELF_CALL' });
  // HBONE next hops are not checked: a local HBONE workload is reached through our own 15008.
  assert.equal(routeOutbound({ ...input, dst: { ip: '10.0.0.1', port: 8080 } }, '10.0.0.1').kind, 'hbone');
});
