// Connection-rate loops on loopback: every connection makes one request and is closed by the server
// (TIME_WAIT on the server side); the CLI form gives the same JSON; refused targets are errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { startBenchHttpServer, runConnRate, runConnRateIn, runHere } from '../../bench/lib/index.js';

test('conn-rate in-process: one request per connection, counted on both ends', async (t) => {
  const srv = await startBenchHttpServer();
  t.after(() => srv.destroy());
  const res = await runConnRate({ host: '127.0.0.1', port: srv.port, path: '/', concurrency: 4, durationS: 1 });
  t.diagnostic(`in-process: ${res.connectionsPerSecond.toFixed(0)} conn/s, p50 ${res.latencyMs.p50} ms`);
  assert.equal(res.errors, 0, JSON.stringify(res.errorKinds));
  assert.ok(res.connections > 100, String(res.connections));
  assert.equal(srv.accepted, res.connections);
  assert.equal(srv.requests, res.connections);
  assert.ok(res.connectionsPerSecond > 0 && res.latencyMs.p50 > 0);
});

test('conn-rate CLI (as run inside a netns) returns the same JSON shape', async (t) => {
  const srv = await startBenchHttpServer();
  t.after(() => srv.destroy());
  const res = await runConnRateIn(runHere, { host: '127.0.0.1', port: srv.port, path: '/', concurrency: 2, durationS: 1 });
  assert.equal(res.errors, 0);
  assert.equal(srv.accepted, res.connections);
  assert.equal(res.target.concurrency, 2);
});

test('conn-rate: refused connections and non-2xx answers are errors, not connections', async (t) => {
  const bad = net.createServer((s) => s.end('HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n'));
  bad.listen(0, '127.0.0.1');
  await once(bad, 'listening');
  t.after(() => bad.close());
  const port = (bad.address() as net.AddressInfo).port;
  const res = await runConnRate({ host: '127.0.0.1', port, path: '/', concurrency: 2, durationS: 0.3 });
  assert.equal(res.connections, 0);
  assert.ok((res.errorKinds['status-500'] ?? 0) > 0, JSON.stringify(res.errorKinds));
  // A port nobody listens on: a fresh listener closed before use.
  const gone = net.createServer().listen(0, '127.0.0.1');
  await once(gone, 'listening');
  const closedPort = (gone.address() as net.AddressInfo).port;
  await new Promise<void>((r) => gone.close(() => r()));
  const refused = await runConnRate({ host: '127.0.0.1', port: closedPort, path: '/', concurrency: 1, durationS: 0.2 });
  assert.equal(refused.connections, 0);
  assert.ok((refused.errorKinds['ECONNREFUSED'] ?? 0) > 0, JSON.stringify(refused.errorKinds));
});
