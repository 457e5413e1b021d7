// Unit tests for the metrics module: traffic label values (ztunnel src/proxy/metrics.rs), the
// recorder's counting rules (bytes, flags, idempotent close), Accept negotiation and the Ambit
// error counter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRegistry,
  encodeOpenMetrics,
  ErrorCounter,
  TRAFFIC_LABEL_NAMES,
  TrafficMetrics,
  trafficLabels,
  wantsOpenMetrics,
  type ConnectionLabels,
  type TrafficLabelsInput,
} from '../../src/metrics/index.js';
import { KeyedCounter, seriesKey } from '../../src/metrics/keyed-counter.js';
import { Counter } from 'prom-client';
import { MeshError } from '../../src/common/errors.js';
import type { Service, Workload } from '../../src/state/types.js';

function workload(p: Partial<Workload> = {}): Workload {
  return {
    uid: 'cluster1//v1/Pod/default/pod-a',
    name: 'pod-a',
    namespace: 'default',
    workloadIps: ['127.0.0.10'],
    hostname: '',
    network: '',
    protocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: 'sa-a',
    waypoint: undefined,
    networkGateway: undefined,
    node: 'node1',
    canonicalName: 'app-a',
    canonicalRevision: 'v1',
    workloadType: 'deployment',
    workloadName: 'deploy-a',
    nativeTunnel: false,
    applicationTunnel: undefined,
    services: new Map(),
    authorizationPolicies: [],
    status: 'Healthy',
    clusterId: 'Kubernetes',
    locality: { region: 'r1', zone: 'z1', subzone: '' },
    networkMode: 'Standard',
    capacity: 1,
    netns: undefined,
    ...p,
  };
}

const service: Service = {
  name: 'echo',
  namespace: 'prod',
  hostname: 'echo.prod.svc.cluster.local',
  vips: [],
  cidrVips: [],
  ports: new Map([[80, 8080]]),
  subjectAltNames: [],
  waypoint: undefined,
  weightedWaypoints: [],
  loadBalancer: undefined,
  ipFamilies: 'IPv4',
  canonical: true,
  visibility: 'Public',
};

const src = workload();
const dst = workload({
  uid: 'c//v1/Pod/prod/pod-b',
  name: 'pod-b',
  namespace: 'prod',
  serviceAccount: 'sa-b',
  canonicalName: 'app-b',
  canonicalRevision: 'v2',
  workloadName: 'deploy-b',
  clusterId: 'c2',
  trustDomain: 'td.example',
  locality: { region: 'r2', zone: 'z2', subzone: 's' },
});

const ALL_UNKNOWN = Object.fromEntries(TRAFFIC_LABEL_NAMES.map((n) => [n, 'unknown'])) as Record<string, string>;

// [name, input, expected label overrides on top of all-unknown]
const labelCases: Array<[string, TrafficLabelsInput, Record<string, string>]> = [
  [
    'nothing known',
    { reporter: 'source', securityPolicy: 'unknown' },
    { reporter: 'source', request_protocol: 'tcp', response_flags: '-', connection_security_policy: 'unknown' },
  ],
  [
    'full outbound (mTLS)',
    {
      reporter: 'source',
      source: src,
      sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/sa-a',
      destination: dst,
      destinationService: service,
      securityPolicy: 'mutual_tls',
    },
    {
      reporter: 'source',
      source_workload: 'deploy-a',
      source_canonical_service: 'app-a',
      source_canonical_revision: 'v1',
      source_workload_namespace: 'default',
      source_principal: 'spiffe://cluster.local/ns/default/sa/sa-a',
      source_app: 'app-a',
      source_version: 'v1',
      source_cluster: 'Kubernetes',
      destination_service: 'echo.prod.svc.cluster.local',
      destination_service_namespace: 'prod',
      destination_service_name: 'echo',
      destination_workload: 'deploy-b',
      destination_canonical_service: 'app-b',
      destination_canonical_revision: 'v2',
      destination_workload_namespace: 'prod',
      destination_principal: 'spiffe://td.example/ns/prod/sa/sa-b',
      destination_app: 'app-b',
      destination_version: 'v2',
      destination_cluster: 'c2',
      request_protocol: 'tcp',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
      source_region: 'r1',
      source_zone: 'z1',
      destination_region: 'r2',
      destination_zone: 'z2',
    },
  ],
  [
    'source principal only from TLS: plaintext inbound keeps it unknown',
    { reporter: 'destination', source: src, destination: dst, securityPolicy: 'unknown' },
    {
      reporter: 'destination',
      source_workload: 'deploy-a',
      source_canonical_service: 'app-a',
      source_canonical_revision: 'v1',
      source_workload_namespace: 'default',
      source_app: 'app-a',
      source_version: 'v1',
      source_cluster: 'Kubernetes',
      destination_workload: 'deploy-b',
      destination_canonical_service: 'app-b',
      destination_canonical_revision: 'v2',
      destination_workload_namespace: 'prod',
      destination_principal: 'spiffe://td.example/ns/prod/sa/sa-b',
      destination_app: 'app-b',
      destination_version: 'v2',
      destination_cluster: 'c2',
      request_protocol: 'tcp',
      response_flags: '-',
      connection_security_policy: 'unknown',
      source_region: 'r1',
      source_zone: 'z1',
      destination_region: 'r2',
      destination_zone: 'z2',
    },
  ],
  [
    'bare principals get spiffe://, explicit destination principal wins',
    {
      reporter: 'destination',
      sourcePrincipal: 'cluster.local/ns/a/sa/b',
      destination: dst,
      destinationPrincipal: 'cluster.local/ns/x/sa/waypoint',
      securityPolicy: 'mutual_tls',
    },
    {
      reporter: 'destination',
      source_principal: 'spiffe://cluster.local/ns/a/sa/b',
      destination_workload: 'deploy-b',
      destination_canonical_service: 'app-b',
      destination_canonical_revision: 'v2',
      destination_workload_namespace: 'prod',
      destination_principal: 'spiffe://cluster.local/ns/x/sa/waypoint',
      destination_app: 'app-b',
      destination_version: 'v2',
      destination_cluster: 'c2',
      request_protocol: 'tcp',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
      destination_region: 'r2',
      destination_zone: 'z2',
    },
  ],
  [
    'empty strings become unknown; empty trust domain / sa take Istio defaults',
    {
      reporter: 'source',
      destination: workload({ workloadName: '', canonicalName: '', canonicalRevision: '', clusterId: '', trustDomain: '', serviceAccount: '', namespace: 'n', locality: { region: '', zone: '', subzone: '' } }),
      sourcePrincipal: '',
      securityPolicy: 'mutual_tls',
    },
    {
      reporter: 'source',
      destination_workload_namespace: 'n',
      destination_principal: 'spiffe://cluster.local/ns/n/sa/default',
      request_protocol: 'tcp',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
    },
  ],
];

for (const [name, input, overrides] of labelCases) {
  test(`trafficLabels: ${name}`, () => {
    const got = trafficLabels(input);
    assert.deepEqual({ ...got }, { ...ALL_UNKNOWN, ...overrides });
    assert.deepEqual(Object.keys(got), [...TRAFFIC_LABEL_NAMES], 'key order is the encoding order');
  });
}

test('label set: 27 names in ztunnel src/proxy/metrics.rs order', () => {
  assert.equal(TRAFFIC_LABEL_NAMES.length, 27);
  assert.equal(TRAFFIC_LABEL_NAMES[0], 'reporter');
  assert.deepEqual(TRAFFIC_LABEL_NAMES.slice(20), [
    'request_protocol',
    'response_flags',
    'connection_security_policy',
    'source_region',
    'source_zone',
    'destination_region',
    'destination_zone',
  ]);
});

/** name{labels} value lines of an OpenMetrics body, labels parsed in order. */
function samples(body: string): Array<{ name: string; labels: Array<[string, string]>; value: number }> {
  const out: Array<{ name: string; labels: Array<[string, string]>; value: number }> = [];
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `malformed sample line: ${line}`);
    const labels: Array<[string, string]> = [];
    for (const lm of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.push([lm[1] as string, lm[2] as string]);
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

function find(body: string, name: string, match: Record<string, string>): number | undefined {
  const hit = samples(body).find(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels.some(([lk, lv]) => lk === k && lv === v)),
  );
  return hit?.value;
}

function labelsFor(reporter: 'source' | 'destination'): ConnectionLabels {
  return trafficLabels({ reporter, source: src, destination: dst, destinationService: service, securityPolicy: 'mutual_tls' });
}

test('TrafficMetrics: open/bytes/close with flag, idempotent close', async () => {
  const reg = createRegistry({ processMetrics: false });
  const tm = new TrafficMetrics(reg);
  const r = tm.open(labelsFor('destination'));
  r.received(100);
  r.received(23);
  r.sent(7);
  let body = await encodeOpenMetrics(reg);
  // Live bytes are visible at scrape time, before close.
  assert.equal(find(body, 'istio_tcp_received_bytes_total', { reporter: 'destination' }), 123);
  assert.equal(find(body, 'istio_tcp_sent_bytes_total', { reporter: 'destination' }), 7);
  assert.equal(find(body, 'istio_tcp_connections_opened_total', { response_flags: '-' }), 1);
  assert.equal(find(body, 'istio_tcp_sockets_open', { reporter: 'destination' }), 1);
  assert.equal(find(body, 'istio_tcp_connections_closed_total', {}), undefined);

  r.received(1);
  r.close('DENY');
  r.close('-');
  r.received(1000); // after close: ignored by the counters
  assert.equal(r.closed, true);
  body = await encodeOpenMetrics(reg);
  assert.equal(find(body, 'istio_tcp_received_bytes_total', { response_flags: '-' }), 124);
  assert.equal(find(body, 'istio_tcp_connections_closed_total', { response_flags: 'DENY' }), 1);
  assert.equal(find(body, 'istio_tcp_connections_closed_total', { response_flags: '-' }), undefined);
  assert.equal(find(body, 'istio_tcp_connections_failed_total', { response_flags: 'DENY' }), 1);
  assert.equal(find(body, 'istio_tcp_connections_opened_total', { response_flags: '-' }), 1);
  assert.equal(find(body, 'istio_tcp_sockets_open', { reporter: 'destination' }), 0);
  assert.equal(tm.openConnections, 0);
});

test('TrafficMetrics: success is not a failure; series aggregate per label set', async () => {
  const reg = createRegistry({ processMetrics: false });
  const tm = new TrafficMetrics(reg);
  const a = tm.open(labelsFor('source'));
  const b = tm.open(labelsFor('source'));
  a.sent(5);
  b.sent(6);
  assert.equal(tm.openFor('source'), 2);
  a.close('-');
  b.close('-');
  const body = await encodeOpenMetrics(reg);
  assert.equal(find(body, 'istio_tcp_connections_opened_total', { reporter: 'source' }), 2);
  assert.equal(find(body, 'istio_tcp_connections_closed_total', { reporter: 'source', response_flags: '-' }), 2);
  assert.equal(find(body, 'istio_tcp_sent_bytes_total', { reporter: 'source' }), 11);
  assert.equal(find(body, 'istio_tcp_connections_failed_total', {}), undefined);
});

test('TrafficMetrics: opened is recorded with response_flags "-" whatever the input says', async () => {
  const reg = createRegistry({ processMetrics: false });
  const tm = new TrafficMetrics(reg);
  const r = tm.open({ ...labelsFor('source'), response_flags: 'CONNECT' });
  assert.equal(r.labels.response_flags, '-');
  const body = await encodeOpenMetrics(reg);
  assert.equal(find(body, 'istio_tcp_connections_opened_total', { response_flags: '-' }), 1);
});

test('registry: istio_build and process metrics', async () => {
  const body = await encodeOpenMetrics(createRegistry({ tag: '1.24.0' }));
  assert.equal(find(body, 'istio_build', { component: 'ztunnel', tag: '1.24.0' }), 1);
  assert.match(body, /^# TYPE process_cpu_user_seconds counter$/m);
  assert.match(body, /^process_cpu_user_seconds_total \S+$/m);
  assert.ok(body.endsWith('# EOF\n'));
  const noTag = await encodeOpenMetrics(createRegistry({ processMetrics: false }));
  assert.equal(find(noTag, 'istio_build', { tag: 'unknown' }), 1);
  assert.doesNotMatch(noTag, /process_cpu/);
});

test('registry: event-loop lag of an idle loop reads as the 10 ms sampling interval, not more', async () => {
  // Node's delay histogram records whole sampling intervals: the resolution sets the idle reading.
  const reg = createRegistry();
  await new Promise((r) => setTimeout(r, 300));
  const p50 = find(await encodeOpenMetrics(reg), 'nodejs_eventloop_lag_p50_seconds', {});
  assert.ok(p50 !== undefined && p50 > 0.005 && p50 < 0.05, `idle p50 lag ${p50} s`);
});

test('openmetrics encoding escapes label values', async () => {
  const reg = createRegistry({ processMetrics: false });
  const errors = new ErrorCounter(reg);
  errors.inc('x"y\\z\nw', 'CODE');
  const body = await encodeOpenMetrics(reg);
  assert.ok(body.includes('ambit_errors_total{component="x\\"y\\\\z\\nw",code="CODE"} 1'), body);
});

test('ErrorCounter counts by MeshError code along the cause chain', async () => {
  const reg = createRegistry({ processMetrics: false });
  const errors = new ErrorCounter(reg);
  errors.record('inbound', new Error('wrapped', { cause: new MeshError('BAD_AUTHORITY', 'bad') }));
  errors.record('inbound', new MeshError('BAD_AUTHORITY', 'bad'));
  errors.record('inbound', new Error('plain'));
  errors.inc('xds', 'CONFIG_INVALID', 3);
  const body = await encodeOpenMetrics(reg);
  assert.match(body, /^# TYPE ambit_errors counter$/m);
  assert.equal(find(body, 'ambit_errors_total', { component: 'inbound', code: 'BAD_AUTHORITY' }), 2);
  assert.equal(find(body, 'ambit_errors_total', { component: 'inbound', code: 'UNKNOWN' }), 1);
  assert.equal(find(body, 'ambit_errors_total', { component: 'xds', code: 'CONFIG_INVALID' }), 3);
});

const acceptCases: Array<[string | undefined, boolean]> = [
  [undefined, false],
  ['text/plain', false],
  ['application/openmetrics-text', true],
  ['application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1', true],
  ['text/plain;version=0.0.4;q=0.5, Application/OpenMetrics-Text; version=0.0.1', true],
  ['application/openmetrics-textual', false],
];
for (const [accept, expected] of acceptCases) {
  test(`wantsOpenMetrics(${JSON.stringify(accept)}) = ${expected}`, () => {
    assert.equal(wantsOpenMetrics(accept), expected);
  });
}

test('KeyedCounter renders exactly as a prom-client Counter fed the same increments', async () => {
  const names = ['reporter', 'peer'] as const;
  const sets: Array<Record<(typeof names)[number], string>> = [
    { reporter: 'source', peer: 'a' },
    { reporter: 'source', peer: 'a"b\\c\nd' }, // values that need escaping
    { reporter: 'destination', peer: '' },
  ];
  const incs: Array<[number, number]> = [[0, 1], [1, 0], [0, 2.5], [2, 7], [1, 3]];
  const mine = createRegistry({ processMetrics: false });
  const theirs = createRegistry({ processMetrics: false });
  const keyed = new KeyedCounter({ name: 'x_total', help: 'h', labelNames: names, registers: [mine] });
  const plain = new Counter({ name: 'x_total', help: 'h', labelNames: names, registers: [theirs] });
  for (const [i, n] of incs) {
    const labels = sets[i]!;
    keyed.inc(seriesKey(names, labels), labels, n);
    plain.inc(labels, n);
  }
  assert.equal(await mine.metrics(), await theirs.metrics());
  assert.equal(await encodeOpenMetrics(mine), await encodeOpenMetrics(theirs));
  assert.equal(keyed.value(seriesKey(names, sets[1]!)), 3);
  // One shared handle per label set: the canonical key and labels are the first ones seen.
  const copy = { ...sets[0]! };
  const h = keyed.series(seriesKey(names, copy), copy);
  assert.equal(h, keyed.series(seriesKey(names, sets[0]!), sets[0]!));
  assert.equal(h.labels, sets[0], 'the labels stored at creation, not the later copy');
  assert.equal(h.value, 3.5);
  keyed.reset();
  assert.equal(h.value, 0, 'reset zeroes the series a holder still counts into');
  keyed.inc(h.key, h.labels, 2);
  assert.match(await mine.metrics(), /x_total\{reporter="source",peer="a"\} 2/);
});

test('seriesKey: distinct label sets never share a key', () => {
  const names = ['a', 'b'];
  const cases: Array<[Record<string, string>, Record<string, string>]> = [
    [{ a: 'x\u0000', b: '' }, { a: 'x', b: '\u0000' }],
    [{ a: '1:x', b: '' }, { a: '1', b: 'x' }],
    [{ a: '', b: 'ab' }, { a: 'a', b: 'b' }],
    [{ a: 'x' }, { a: 'x', b: '' }], // absent label renders as ''
  ];
  for (const [l, r] of cases.slice(0, 3)) assert.notEqual(seriesKey(names, l), seriesKey(names, r), JSON.stringify([l, r]));
  const [l, r] = cases[3]!;
  assert.equal(seriesKey(names, l), seriesKey(names, r));
});
