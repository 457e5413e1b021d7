// Unit tests for the waypoint's metric labels and response flags: Envoy's flag join rule, the
// reporter="waypoint" label values (Istio's ServerGateway rules) and the gRPC status fallback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  httpToGrpcStatus,
  isResponseFlags,
  joinResponseFlags,
  addResponseFlags,
  REQUEST_LABEL_NAMES,
  requestLabels,
  RESPONSE_FLAGS,
  waypointTrafficLabels,
  type ResponseFlagName,
} from '../../src/waypoint/telemetry/index.js';
import { TRAFFIC_LABEL_NAMES } from '../../src/metrics/index.js';
import { richService, richWorkload } from '../helpers/wds-fixtures.js';

const WAYPOINT = { namespace: 'default', name: 'waypoint', identity: 'cluster.local/ns/default/sa/waypoint', workload: richWorkload({ clusterId: 'wp-cluster' }) };

const JOIN_CASES: Array<[readonly ResponseFlagName[], string]> = [
  [[], '-'],
  [['UF'], 'UF'],
  [['URX', 'UF'], 'UF,URX'],
  [['UF', 'UF', 'URX'], 'UF,URX'],
  [['DC', 'UH', 'NR'], 'UH,NR,DC'],
  [['UAEX'], 'UAEX'],
  [['UT', 'UO'], 'UT,UO'],
];

for (const [flags, want] of JOIN_CASES) {
  test(`joinResponseFlags(${JSON.stringify(flags)}) = ${want}`, () => {
    assert.equal(joinResponseFlags(flags), want);
    assert.equal(isResponseFlags(want), true);
  });
}

const ADD_CASES: Array<[string, readonly ResponseFlagName[], string]> = [
  ['-', [], '-'],
  ['-', ['DI'], 'DI'],
  ['FI', ['DI'], 'DI,FI'],
  ['UT,URX', ['DI'], 'UT,DI,URX'],
  ['DC', ['DI'], 'DI,DC'],
  ['DI,FI', ['DI'], 'DI,FI'],
];

for (const [flags, more, want] of ADD_CASES) {
  test(`addResponseFlags(${flags}, ${JSON.stringify(more)}) = ${want}`, () => {
    assert.equal(addResponseFlags(flags, more), want);
  });
}

test('response flags: the closed set holds Envoy short names and no RBAC flag', () => {
  const names = Object.values(RESPONSE_FLAGS);
  for (const f of ['NR', 'UH', 'UF', 'UT', 'URX', 'UO', 'DC', 'UC', 'UR', 'DI', 'FI', 'RL', 'UAEX']) assert.ok(names.includes(f as ResponseFlagName), f);
  assert.ok(!names.includes('RBAC' as ResponseFlagName));
  assert.equal(new Set(names).size, names.length);
  for (const bad of ['', 'XX', 'URX,UF', 'UF,UF', 'uf']) assert.equal(isResponseFlags(bad), false, bad);
});

test('waypoint labels: reporter waypoint, source = downstream peer, destination = upstream endpoint, service = addressed', () => {
  const source = richWorkload({ name: 'sleep-1', namespace: 'client', workloadName: 'sleep', canonicalName: 'sleep', canonicalRevision: 'v1', clusterId: 'c1' });
  const upstream = richWorkload({ name: 'echo-2', namespace: 'default', workloadName: 'echo', canonicalName: 'echo', canonicalRevision: 'v2', serviceAccount: 'echo', trustDomain: 'cluster.local', clusterId: 'c2' });
  const labels = waypointTrafficLabels({
    waypoint: WAYPOINT,
    source,
    sourcePrincipal: 'cluster.local/ns/client/sa/sleep',
    destination: upstream,
    destinationService: richService(),
    authority: 'echo:80',
  });
  assert.deepEqual(Object.keys(labels), [...TRAFFIC_LABEL_NAMES]);
  assert.equal(labels.reporter, 'waypoint');
  assert.equal(labels.source_workload, 'sleep');
  assert.equal(labels.source_workload_namespace, 'client');
  assert.equal(labels.source_principal, 'spiffe://cluster.local/ns/client/sa/sleep');
  assert.equal(labels.source_app, 'sleep');
  assert.equal(labels.source_version, 'v1');
  assert.equal(labels.source_cluster, 'c1');
  assert.equal(labels.destination_workload, 'echo');
  assert.equal(labels.destination_workload_namespace, 'default');
  assert.equal(labels.destination_principal, 'spiffe://cluster.local/ns/default/sa/echo');
  assert.equal(labels.destination_app, 'echo');
  assert.equal(labels.destination_version, 'v2');
  assert.equal(labels.destination_cluster, 'c2');
  assert.equal(labels.destination_service, 'echo.default.svc.cluster.local');
  assert.equal(labels.destination_service_name, 'echo');
  assert.equal(labels.destination_service_namespace, 'default');
  assert.equal(labels.connection_security_policy, 'mutual_tls');
});

test('waypoint labels: nothing known ⇒ unknown, Host as service, waypoint namespace and cluster as fallbacks', () => {
  const labels = waypointTrafficLabels({ waypoint: WAYPOINT, authority: 'api.example.com:8080' });
  assert.equal(labels.reporter, 'waypoint');
  assert.equal(labels.source_workload, 'unknown');
  assert.equal(labels.source_principal, 'unknown');
  assert.equal(labels.destination_workload, 'unknown');
  assert.equal(labels.destination_principal, 'unknown');
  assert.equal(labels.destination_service, 'api.example.com:8080');
  assert.equal(labels.destination_service_name, 'api.example.com:8080');
  assert.equal(labels.destination_service_namespace, 'default');
  assert.equal(labels.destination_cluster, 'wp-cluster');
  assert.equal(labels.connection_security_policy, 'unknown');
});

const RESULT_CASES: Array<{ name: string; protocol: 'http' | 'grpc'; status: number; grpcStatus?: number; flags: string; code: string; grpc: string; outFlags: string }> = [
  { name: 'http 200', protocol: 'http', status: 200, flags: '-', code: '200', grpc: '', outFlags: '-' },
  { name: 'http 503 UF,URX', protocol: 'http', status: 503, flags: 'UF,URX', code: '503', grpc: '', outFlags: 'UF,URX' },
  { name: 'http nothing sent (DC)', protocol: 'http', status: 0, flags: 'DC', code: '0', grpc: '', outFlags: 'DC' },
  { name: 'http empty flags normalised', protocol: 'http', status: 200, flags: '', code: '200', grpc: '', outFlags: '-' },
  { name: 'grpc with trailer', protocol: 'grpc', status: 200, grpcStatus: 5, flags: '-', code: '200', grpc: '5', outFlags: '-' },
  { name: 'grpc 503 without trailer ⇒ UNAVAILABLE', protocol: 'grpc', status: 503, flags: 'UH', code: '503', grpc: '14', outFlags: 'UH' },
  { name: 'grpc 404 without trailer ⇒ UNIMPLEMENTED', protocol: 'grpc', status: 404, flags: 'NR', code: '404', grpc: '12', outFlags: 'NR' },
  { name: 'grpc nothing sent ⇒ empty', protocol: 'grpc', status: 0, flags: 'DC', code: '0', grpc: '', outFlags: 'DC' },
];

for (const c of RESULT_CASES) {
  test(`request labels: ${c.name}`, () => {
    const labels = requestLabels(waypointTrafficLabels({ waypoint: WAYPOINT }), c);
    assert.deepEqual(Object.keys(labels), [...REQUEST_LABEL_NAMES]);
    assert.equal(labels.request_protocol, c.protocol);
    assert.equal(labels.response_code, c.code);
    assert.equal(labels.grpc_response_status, c.grpc);
    assert.equal(labels.response_flags, c.outFlags);
  });
}

test('httpToGrpcStatus follows the gRPC HTTP mapping', () => {
  const table: Array<[number, number]> = [[400, 13], [401, 16], [403, 7], [404, 12], [429, 14], [502, 14], [503, 14], [504, 14], [500, 2], [200, 2]];
  for (const [http, grpc] of table) assert.equal(httpToGrpcStatus(http), grpc, String(http));
});
