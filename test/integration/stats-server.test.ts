// The Prometheus endpoint over real HTTP on loopback: paths, methods, content types, the OpenMetrics
// body and traffic label sets/values after recording connections.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRegistry,
  StatsServer,
  TRAFFIC_LABEL_NAMES,
  TrafficMetrics,
  trafficLabels,
} from '../../src/metrics/index.js';

async function startStats(t: import('node:test').TestContext) {
  const registry = createRegistry({ tag: '1.0.0-test' });
  const traffic = new TrafficMetrics(registry);
  const server = new StatsServer({ registry, host: '127.0.0.1', port: 0 });
  const addr = await server.start();
  t.after(() => server.destroy());
  return { traffic, server, base: `http://127.0.0.1:${addr.port}` };
}

function sampleLines(body: string, name: string): string[] {
  return body.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

function labelNames(line: string): string[] {
  return [...(/\{(.*)\}/.exec(line)?.[1] ?? '').matchAll(/(\w+)="(?:[^"\\]|\\.)*"/g)].map((m) => m[1] as string);
}

function labelValue(line: string, name: string): string | undefined {
  return new RegExp(`[{,]${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(line)?.[1];
}

test('GET /metrics and /stats/prometheus serve text/plain with # EOF', async (t) => {
  const { base } = await startStats(t);
  for (const path of ['/metrics', '/stats/prometheus', '/metrics?x=1']) {
    const res = await fetch(base + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    const body = await res.text();
    assert.ok(body.endsWith('# EOF\n'));
    assert.match(body, /^istio_build\{component="ztunnel",tag="1.0.0-test"\} 1$/m);
    assert.match(body, /^# TYPE nodejs_heap_size_total_bytes gauge$/m);
  }
});

test('Accept: application/openmetrics-text switches the content type', async (t) => {
  const { base } = await startStats(t);
  const res = await fetch(`${base}/metrics`, {
    headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/openmetrics-text;charset=utf-8;version=1.0.0');
  assert.ok((await res.text()).endsWith('# EOF\n'));
});

test('other paths 404, other methods 405', async (t) => {
  const { base } = await startStats(t);
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metricsx`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
});

test('traffic counters: full label set in order, values after recording', async (t) => {
  const { base, traffic } = await startStats(t);
  const labels = trafficLabels({
    reporter: 'destination',
    sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/client',
    securityPolicy: 'mutual_tls',
  });
  const ok = traffic.open(labels);
  ok.received(1000);
  ok.sent(250);
  const bad = traffic.open(trafficLabels({ reporter: 'source', securityPolicy: 'unknown' }));

  let body = await (await fetch(`${base}/metrics`)).text();
  const opened = sampleLines(body, 'istio_tcp_connections_opened_total');
  assert.equal(opened.length, 2);
  for (const line of opened) assert.deepEqual(labelNames(line), [...TRAFFIC_LABEL_NAMES]);
  assert.match(body, /^# TYPE istio_tcp_connections_opened counter$/m);
  assert.match(body, /^istio_tcp_sockets_open\{reporter="destination"\} 1$/m);
  const rx = sampleLines(body, 'istio_tcp_received_bytes_total').find((l) => labelValue(l, 'reporter') === 'destination');
  assert.ok(rx);
  assert.ok(rx.endsWith(' 1000'), rx);
  assert.equal(labelValue(rx, 'source_principal'), 'spiffe://cluster.local/ns/default/sa/client');
  assert.equal(labelValue(rx, 'request_protocol'), 'tcp');
  assert.equal(labelValue(rx, 'connection_security_policy'), 'mutual_tls');
  assert.equal(labelValue(rx, 'destination_workload'), 'unknown');

  ok.close('-');
  bad.close('CONNECT');
  body = await (await fetch(`${base}/stats/prometheus`)).text();
  const closed = sampleLines(body, 'istio_tcp_connections_closed_total');
  assert.equal(closed.length, 2);
  for (const line of closed) assert.deepEqual(labelNames(line), [...TRAFFIC_LABEL_NAMES]);
  const closedBad = closed.find((l) => labelValue(l, 'reporter') === 'source');
  assert.equal(closedBad && labelValue(closedBad, 'response_flags'), 'CONNECT');
  const failed = sampleLines(body, 'istio_tcp_connections_failed_total');
  assert.equal(failed.length, 1);
  assert.equal(labelValue(failed[0] as string, 'response_flags'), 'CONNECT');
  assert.ok((failed[0] as string).endsWith(' 1'));
  const tx = sampleLines(body, 'istio_tcp_sent_bytes_total').find((l) => labelValue(l, 'reporter') === 'destination');
  assert.ok(tx?.endsWith(' 250'), tx);
  assert.match(body, /^istio_tcp_sockets_open\{reporter="destination"\} 0$/m);
  assert.match(body, /^istio_tcp_sockets_open\{reporter="source"\} 0$/m);
});

test('close() is graceful and start() twice fails', async (t) => {
  const { server, base } = await startStats(t);
  assert.equal((await fetch(`${base}/metrics`)).status, 200);
  await assert.rejects(server.start(), (e: unknown) => (e as { code?: string }).code === 'INTERNAL');
  await server.close();
  await assert.rejects(fetch(`${base}/metrics`));
});

test('listen failure is a MeshError naming the address', async (t) => {
  const { server } = await startStats(t);
  const port = server.address()?.port ?? 0;
  const clash = new StatsServer({ registry: createRegistry({ processMetrics: false }), host: '127.0.0.1', port });
  await assert.rejects(clash.start(), (e: unknown) => e instanceof Error && /stats server could not listen on 127\.0\.0\.1:/.test(e.message));
});
