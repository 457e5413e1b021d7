// Waypoint telemetry against a real prom-client Registry and a captured pino logger: exact Istio
// metric names, label sets, bucket bounds and values, the access log line, TCP relays, and a
// request relayed over real HTTP sockets carrying the propagated trace headers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { encodeOpenMetrics, TrafficMetrics } from '../../src/metrics/index.js';
import {
  REQUEST_DURATION_BUCKETS_MS,
  REQUEST_LABEL_NAMES,
  WaypointTelemetry,
  type RequestStart,
  type TraceIdSource,
} from '../../src/waypoint/telemetry/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { parseExposition, parseLabels, splitSeries } from '../helpers/prometheus-text.js';
import { richService, richWorkload } from '../helpers/wds-fixtures.js';

const WAYPOINT = { namespace: 'default', name: 'waypoint', identity: 'cluster.local/ns/default/sa/waypoint' };
const SOURCE = richWorkload({ name: 'sleep-1', namespace: 'client', workloadName: 'sleep', canonicalName: 'sleep', canonicalRevision: 'v1', clusterId: 'c1', locality: { region: 'r', zone: 'z', subzone: '' } });
const UPSTREAM = richWorkload({ name: 'echo-2', namespace: 'default', workloadName: 'echo', canonicalName: 'echo', canonicalRevision: 'v2', serviceAccount: 'echo', trustDomain: 'cluster.local', clusterId: 'c1', locality: { region: 'r', zone: 'z', subzone: '' } });
const SERVICE = richService();
const FIXED: TraceIdSource = { traceId: () => '1'.repeat(32), spanId: () => '2'.repeat(16), requestId: () => 'rid-1' };

/** A clock the test moves by hand (ns). */
function manualClock(): { now: () => bigint; set(ms: number): void } {
  let t = 0n;
  return { now: () => t, set: (ms: number) => (t = BigInt(Math.round(ms * 1e6))) };
}

function start(over: Partial<RequestStart> = {}): RequestStart {
  return {
    protocol: 'http',
    method: 'GET',
    path: '/hello?x=1',
    authority: 'echo.default:80',
    source: { ip: '10.0.0.5', port: 40000, identity: 'cluster.local/ns/client/sa/sleep', workload: SOURCE },
    destinationService: SERVICE,
    headers: new Map([['user-agent', ['curl/8.5.0']]]),
    startedAt: 0n,
    ...over,
  };
}

const UP = { ip: '10.0.1.7', port: 8080, workload: UPSTREAM, identity: 'cluster.local/ns/default/sa/echo' };

/** Samples of one metric name (full sample name, e.g. `..._bucket`) as [labels, value]. */
function samples(text: string, name: string): Array<[Map<string, string>, number]> {
  const out: Array<[Map<string, string>, number]> = [];
  for (const [series, value] of parseExposition(text)) {
    const s = splitSeries(series);
    if (s.name === name) out.push([parseLabels(s.labels), value]);
  }
  return out;
}

test('request metrics: Istio names, types, the 29 labels, Envoy buckets and values', async () => {
  const registry = new Registry();
  const logs = captureLogs('info');
  const clock = manualClock();
  const telemetry = new WaypointTelemetry({ registry, logger: logs.logger, waypoint: WAYPOINT, ids: FIXED, now: clock.now });

  for (let i = 0; i < 2; i++) {
    const span = telemetry.begin(start());
    clock.set(3.25);
    span.end({ status: 200, flags: '-', route: 'default/echo.r0.m0', cluster: 'outbound|80||echo.default.svc.cluster.local', upstream: UP, requestBytes: 120, responseBytes: 2048, attempts: 1 });
    span.end({ status: 500, flags: 'UF', requestBytes: 1, responseBytes: 1 }); // ignored: ended once
    clock.set(0);
  }
  const grpc = telemetry.begin(start({ protocol: 'grpc', method: 'POST', path: '/pkg.Echo/Say' }));
  clock.set(40);
  grpc.end({ status: 503, flags: 'UF,URX', requestBytes: 30, responseBytes: 0, attempts: 3, error: new Error('connect ECONNREFUSED 10.0.1.7:8080') });

  const text = await registry.metrics();
  for (const [name, type] of [
    ['istio_requests_total', 'counter'],
    ['istio_request_duration_milliseconds', 'histogram'],
    ['istio_request_bytes', 'histogram'],
    ['istio_response_bytes', 'histogram'],
  ]) {
    assert.ok(text.includes(`# TYPE ${name} ${type}\n`), `${name} is a ${type}`);
  }

  const totals = samples(text, 'istio_requests_total');
  assert.equal(totals.length, 2, 'two label sets: the two identical HTTP requests share one');
  for (const [labels] of totals) assert.deepEqual([...labels.keys()].sort(), [...REQUEST_LABEL_NAMES].sort());
  const ok = totals.find(([l]) => l.get('response_code') === '200')!;
  assert.equal(ok[1], 2);
  assert.deepEqual(Object.fromEntries(ok[0]), {
    reporter: 'waypoint',
    source_workload: 'sleep',
    source_canonical_service: 'sleep',
    source_canonical_revision: 'v1',
    source_workload_namespace: 'client',
    source_principal: 'spiffe://cluster.local/ns/client/sa/sleep',
    source_app: 'sleep',
    source_version: 'v1',
    source_cluster: 'c1',
    destination_service: 'echo.default.svc.cluster.local',
    destination_service_namespace: 'default',
    destination_service_name: 'echo',
    destination_workload: 'echo',
    destination_canonical_service: 'echo',
    destination_canonical_revision: 'v2',
    destination_workload_namespace: 'default',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/echo',
    destination_app: 'echo',
    destination_version: 'v2',
    destination_cluster: 'c1',
    request_protocol: 'http',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
    source_region: 'r',
    source_zone: 'z',
    destination_region: 'r',
    destination_zone: 'z',
    response_code: '200',
    grpc_response_status: '',
  });
  const failed = totals.find(([l]) => l.get('response_code') === '503')!;
  assert.equal(failed[1], 1);
  assert.equal(failed[0].get('request_protocol'), 'grpc');
  assert.equal(failed[0].get('grpc_response_status'), '14');
  assert.equal(failed[0].get('response_flags'), 'UF,URX');
  assert.equal(failed[0].get('destination_workload'), 'unknown', 'no upstream answered');
  assert.equal(failed[0].get('destination_principal'), 'unknown');

  // Bucket bounds, exactly Envoy's defaults, then +Inf; cumulative counts.
  const okBuckets = samples(text, 'istio_request_duration_milliseconds_bucket').filter(([l]) => l.get('response_code') === '200');
  assert.deepEqual(okBuckets.map(([l]) => l.get('le')), [...REQUEST_DURATION_BUCKETS_MS.map(String), '+Inf']);
  assert.deepEqual(
    okBuckets.map(([, v]) => v),
    REQUEST_DURATION_BUCKETS_MS.map((b) => (3.25 <= b ? 2 : 0)).concat([2]),
  );
  assert.deepEqual(okBuckets.slice(0, 3).map(([l]) => l.get('le')), ['0.5', '1', '5']);
  const sumOf = (name: string, code: string) => samples(text, name).find(([l]) => l.get('response_code') === code)![1];
  assert.equal(sumOf('istio_request_duration_milliseconds_sum', '200'), 6.5);
  assert.equal(sumOf('istio_request_duration_milliseconds_count', '200'), 2);
  assert.equal(sumOf('istio_request_duration_milliseconds_sum', '503'), 40);
  assert.equal(sumOf('istio_request_bytes_sum', '200'), 240);
  assert.equal(sumOf('istio_response_bytes_sum', '200'), 4096);
  assert.equal(sumOf('istio_response_bytes_count', '503'), 1);
  const reqBytes = samples(text, 'istio_request_bytes_bucket').filter(([l]) => l.get('response_code') === '200');
  assert.deepEqual(reqBytes.map(([l]) => l.get('le')), [...REQUEST_DURATION_BUCKETS_MS.map(String), '+Inf']);
  assert.equal(reqBytes.find(([l]) => l.get('le') === '100')![1], 0);
  assert.equal(reqBytes.find(([l]) => l.get('le') === '250')![1], 2);

  // OpenMetrics (the stats server's other encoding) renders the same families.
  const om = await encodeOpenMetrics(registry);
  assert.match(om, /^# TYPE istio_requests counter$/m);
  assert.match(om, /^istio_requests_total\{reporter="waypoint",.*response_code="200",grpc_response_status=""\} 2$/m);
  assert.match(om, /^istio_request_duration_milliseconds_bucket\{.*response_code="503".*le="\+Inf"\} 1$/m);

  // Access log: one line per request (the second end() wrote nothing).
  const lines = logs.lines.filter((l) => l.msg === 'request complete');
  assert.equal(lines.length, 3);
  const first = lines[0]!;
  assert.equal(first.level, 30);
  assert.deepEqual(
    Object.fromEntries(Object.entries(first).filter(([k]) => k !== 'time')),
    {
      level: 30,
      msg: 'request complete',
      'src.addr': '10.0.0.5:40000',
      'src.workload': 'sleep-1',
      'src.namespace': 'client',
      'src.identity': 'spiffe://cluster.local/ns/client/sa/sleep',
      'dst.addr': '10.0.1.7:8080',
      'dst.service': 'echo.default.svc.cluster.local',
      'dst.workload': 'echo-2',
      'dst.namespace': 'default',
      'dst.identity': 'spiffe://cluster.local/ns/default/sa/echo',
      method: 'GET',
      path: '/hello?x=1',
      protocol: 'http',
      authority: 'echo.default:80',
      response_code: 200,
      response_flags: '-',
      route_name: 'default/echo.r0.m0',
      upstream_cluster: 'outbound|80||echo.default.svc.cluster.local',
      attempts: 1,
      request_id: 'rid-1',
      trace_id: '1'.repeat(32),
      span_id: '2'.repeat(16),
      user_agent: 'curl/8.5.0',
      bytes_recv: 120,
      bytes_sent: 2048,
      duration: '3.25ms',
    },
  );
  const last = lines[2]!;
  assert.equal(last['response_flags'], 'UF,URX');
  assert.equal(last['grpc_status'], undefined, 'no trailer was received');
  assert.equal(last['attempts'], 3);
  assert.equal(last['error'], 'connect ECONNREFUSED 10.0.1.7:8080');
  assert.equal(last['dst.addr'], undefined);
});

test('access log off (option) or filtered (level): no line, metrics still counted', async () => {
  for (const [accessLog, level] of [[false, 'info'], [true, 'warn']] as const) {
    const registry = new Registry();
    const logs = captureLogs(level);
    const telemetry = new WaypointTelemetry({ registry, logger: logs.logger, waypoint: WAYPOINT, accessLog });
    telemetry.begin(start()).end({ status: 204, flags: '-', requestBytes: 0, responseBytes: 0 });
    assert.equal(logs.lines.length, 0, `accessLog=${accessLog} level=${level}`);
    const totals = samples(await registry.metrics(), 'istio_requests_total');
    assert.equal(totals.length, 1);
    assert.equal(totals[0]![1], 1);
  }
});

test('tcp relays: istio_tcp_* with reporter=waypoint, flags on close, connection complete lines', async () => {
  const registry = new Registry();
  const logs = captureLogs('info');
  const telemetry = new WaypointTelemetry({ registry, logger: logs.logger, waypoint: WAYPOINT });
  const source = { ip: '10.0.0.5', port: 40001, identity: 'cluster.local/ns/client/sa/sleep', workload: SOURCE };

  const relay = telemetry.tcp({ source, destinationService: SERVICE, upstream: UP, cluster: 'outbound|5432||db' });
  relay.received(100);
  relay.sent(40);
  relay.sent(10);
  // Live bytes are visible at scrape, before close.
  let text = await registry.metrics();
  assert.equal(samples(text, 'istio_tcp_received_bytes_total').find(([l]) => l.get('reporter') === 'waypoint')![1], 100);
  relay.close();
  relay.close({ flags: 'UC' }); // ignored

  const refused = telemetry.tcp({ source, destinationService: SERVICE, upstream: UP });
  refused.close({ error: new Error('connect ECONNREFUSED') });

  text = await registry.metrics();
  const one = (name: string, flags: string) => {
    const found = samples(text, name).filter(([l]) => l.get('reporter') === 'waypoint' && l.get('response_flags') === flags);
    return found.reduce((a, [, v]) => a + v, 0);
  };
  assert.equal(one('istio_tcp_connections_opened_total', '-'), 2);
  assert.equal(one('istio_tcp_connections_closed_total', '-'), 1);
  assert.equal(one('istio_tcp_connections_closed_total', 'UF'), 1, 'an error before any byte is an upstream connect failure');
  assert.equal(one('istio_tcp_connections_failed_total', 'UF'), 1);
  assert.equal(one('istio_tcp_received_bytes_total', '-'), 100);
  assert.equal(one('istio_tcp_sent_bytes_total', '-'), 50);
  const [labels] = samples(text, 'istio_tcp_connections_opened_total')[0]!;
  assert.equal(labels.get('request_protocol'), 'tcp');
  assert.equal(labels.get('destination_workload'), 'echo');
  assert.equal(labels.get('destination_service'), 'echo.default.svc.cluster.local');
  assert.equal(labels.get('source_principal'), 'spiffe://cluster.local/ns/client/sa/sleep');
  assert.equal(labels.get('connection_security_policy'), 'mutual_tls');

  const lines = logs.lines.filter((l) => l.msg === 'connection complete');
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.level, 30);
  assert.equal(lines[0]!['bytes_recv'], 100);
  assert.equal(lines[0]!['bytes_sent'], 50);
  assert.equal(lines[0]!['dst.addr'], '10.0.1.7:8080');
  assert.equal(lines[0]!['upstream_cluster'], 'outbound|5432||db');
  assert.equal(lines[1]!.level, 50);
  assert.equal(lines[1]!['response_flags'], 'UF');
  assert.equal(lines[1]!['error'], 'connect ECONNREFUSED');
});

test('a registry that already has istio_tcp_*: pass it as tcpMetrics, else registration fails loudly', () => {
  const registry = new Registry();
  const tcpMetrics = new TrafficMetrics(registry);
  assert.throws(() => new WaypointTelemetry({ registry, logger: captureLogs().logger, waypoint: WAYPOINT }), /already been registered/);
  const shared = new Registry();
  const existing = new TrafficMetrics(shared);
  const telemetry = new WaypointTelemetry({ registry: shared, logger: captureLogs().logger, waypoint: WAYPOINT, tcpMetrics: existing });
  const relay = telemetry.tcp({ source: { ip: '10.0.0.5', port: 1 } });
  assert.equal(existing.openConnections, 1, 'the relay counts in the TrafficMetrics passed in');
  relay.close();
  assert.equal(existing.openConnections, 0);
  assert.equal(tcpMetrics.openConnections, 0);
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function headerMap(req: IncomingMessage): Map<string, string[]> {
  return new Map(Object.entries(req.headersDistinct).map(([k, v]) => [k, v ?? []]));
}

test('over real HTTP: the next hop sees the propagated trace and request id, the metrics the relayed request', async (t) => {
  const registry = new Registry();
  const logs = captureLogs('info');
  const telemetry = new WaypointTelemetry({ registry, logger: logs.logger, waypoint: WAYPOINT });

  const seen: Array<Record<string, string | string[] | undefined>> = [];
  const upstream = createServer((req, res) => {
    seen.push(req.headers);
    res.end('hello from echo');
  });
  const upstreamPort = await listen(upstream);
  t.after(() => upstream.close());

  // A minimal relay standing in for the waypoint's forwarder: it calls the telemetry as one would.
  const relay = createServer((req, res) => {
    const headers = headerMap(req);
    const span = telemetry.begin({
      protocol: 'http',
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host ?? '',
      source: { ip: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0, identity: 'cluster.local/ns/client/sa/sleep', workload: SOURCE },
      destinationService: SERVICE,
      headers,
      startedAt: process.hrtime.bigint(),
    });
    const out: Record<string, string[]> = {};
    for (const [k, v] of headers) if (k !== 'host' && k !== 'connection') out[k] = v;
    const up = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: out }, (upRes) => {
      let bytes = 0;
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.on('data', (c: Buffer) => {
        bytes += c.length;
        res.write(c);
      });
      upRes.on('end', () => {
        res.end();
        span.end({ status: upRes.statusCode ?? 0, flags: '-', upstream: { ip: '127.0.0.1', port: upstreamPort, workload: UPSTREAM }, requestBytes: 0, responseBytes: bytes, attempts: 1 });
      });
    });
    up.end();
  });
  const relayPort = await listen(relay);
  t.after(() => relay.close());

  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await fetch(`http://127.0.0.1:${relayPort}/hello`, {
    headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: 'congo=t61rcWkgMzE', 'x-request-id': 'client-rid' },
  });
  assert.equal(await res.text(), 'hello from echo');

  const line = await logs.waitFor('request complete');
  assert.equal(seen.length, 1);
  const h = seen[0]!;
  assert.equal(h['x-request-id'], 'client-rid');
  assert.equal(h['tracestate'], 'congo=t61rcWkgMzE');
  assert.equal(h['traceparent'], `00-${traceId}-${line['span_id'] as string}-01`);
  assert.notEqual(line['span_id'], '00f067aa0ba902b7');
  assert.equal(line['trace_id'], traceId);
  assert.equal(line['request_id'], 'client-rid');
  assert.equal(line['bytes_sent'], 'hello from echo'.length);
  assert.match(line['src.addr'] as string, /^127\.0\.0\.1:\d+$/);

  const totals = samples(await registry.metrics(), 'istio_requests_total');
  assert.equal(totals.length, 1);
  assert.equal(totals[0]![0].get('response_code'), '200');
  assert.equal(totals[0]![0].get('destination_workload'), 'echo');
  assert.equal(totals[0]![1], 1);
});
