// The bench's L7 reference on loopback: Debian's nginx as the bench configures it carries keep-alive
// requests over a few pooled upstream connections, and the requests/s suite (wrk) measures through it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { childPids, runHere, runTool, startBenchHttpServer, startNginx, BENCH_NGINX_UPSTREAM_KEEPALIVE, NGINX_KEEPALIVE_REQUESTS } from '../../bench/lib/index.js';
import { measureHttpRps } from '../../bench/suite/http-rps.js';
import { L7_PROXY_ROLE, type BenchPath } from '../../bench/paths/index.js';
import { randomLoopbackPrefix } from '../helpers/tcp.js';

/** A random 127/8 address: no other test binds it, so the free port found on it stays free. */
const HOST = `${randomLoopbackPrefix()}.${2 + Math.floor(Math.random() * 250)}`;

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, HOST);
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

test('nginx reverse proxy: keep-alive requests reach the app over few upstream connections; wrk measures through it', { timeout: 60_000 }, async (t) => {
  const app = await startBenchHttpServer({ host: HOST, port: 0, bodyBytes: 1024 });
  t.after(() => app.destroy());
  const port = await freePort();
  const nginx = await startNginx(runHere, { listen: `${HOST}:${port}`, upstream: `${HOST}:${app.port}` });
  t.after(() => nginx.close());
  assert.equal(nginx.workers.length, 1, 'worker_processes 1');
  const [worker] = nginx.workers;
  assert.deepEqual(childPids(nginx.pid), [worker]);
  assert.match(readFileSync(`/proc/${worker}/cmdline`, 'utf8'), /nginx: worker process/);

  // 200 requests on 4 keep-alive client connections (curl reuses its connection across URLs).
  // `-o /dev/null` once per URL: curl pairs each output option with one URL.
  const urls = Array.from({ length: 50 }, (_, i) => ['-o', '/dev/null', `http://${HOST}:${port}/k${i}`]).flat();
  const curls = await Promise.all(
    [0, 1, 2, 3].map(() => runTool(runHere, ['curl', '-sS', '-w', '%{http_code} %{size_download} %{num_connects}\\n', ...urls], { timeoutMs: 20_000 })),
  );
  const lines = curls.flatMap((c) => c.stdout.trim().split('\n'));
  assert.equal(lines.length, 200);
  assert.ok(lines.every((l) => l.startsWith('200 1024 ')), lines.find((l) => !l.startsWith('200 1024 ')));
  // The client side kept its connections: one connect per curl, the 49 later URLs reused it.
  assert.equal(lines.filter((l) => l.endsWith(' 1')).length, 4);
  assert.equal(app.requests, 200, 'every request reached the app');
  // Upstream keep-alive: at most one upstream connection per concurrent client connection, not one per request.
  assert.ok(app.accepted >= 1 && app.accepted <= 4, `the app accepted ${app.accepted} connections for 200 requests`);
  assert.ok(app.openConnections >= 1 && app.openConnections <= BENCH_NGINX_UPSTREAM_KEEPALIVE, 'idle upstream connections stay pooled');

  // The requests/s suite through it, on a minimal loopback "path": structure and > 0, not speed.
  const path: BenchPath = {
    name: 'nginx',
    description: 'loopback nginx',
    logLevel: 'warn',
    connections: 'keep-alive',
    tcp: false,
    pods: [],
    setup: async () => undefined,
    target: () => ({ client: runHere, server: runHere, host: HOST, httpPort: port, tcpPort: null }),
    proxies: () => [{ role: L7_PROXY_ROLE, label: 'nginx worker', pid: worker! }],
    teardown: async () => undefined,
  };
  const acceptedBefore = app.accepted;
  const rec = await measureHttpRps(path, { connections: 8, threads: 1, durationS: 1, warmupS: 0 });
  assert.ok(rec.wrk.requests > 0 && rec.requestsPerSecond > 0, JSON.stringify(rec.wrk));
  assert.ok(rec.wrk.seconds >= 0.9 && rec.wrk.seconds < 5, `wrk ran ${rec.wrk.seconds} s`);
  assert.ok(rec.wrk.latencyMs.p50 > 0 && rec.wrk.latencyMs.p50 <= rec.wrk.latencyMs.p99, JSON.stringify(rec.wrk.latencyMs));
  assert.equal(rec.proxies.length, 1);
  const [u] = rec.proxies;
  assert.equal(u!.role, L7_PROXY_ROLE);
  assert.ok(u!.cpuSeconds > 0 && u!.cpuPer1kRps > 0 && Number.isFinite(u!.cpuPer1kRps), JSON.stringify(u));
  assert.ok(u!.peakRssBytes > 1024 * 1024 && u!.rssMbPer1kRps > 0, JSON.stringify(u));
  // Thousands of requests over few upstream connections: at most the 8 concurrent ones, plus one
  // for every NGINX_KEEPALIVE_REQUESTS (nginx's default cap, then it closes and re-opens one).
  const fresh = app.accepted - acceptedBefore;
  const bound = 8 + Math.ceil(rec.wrk.requests / NGINX_KEEPALIVE_REQUESTS);
  assert.ok(fresh >= 1 && fresh <= bound, `${fresh} new upstream connections for ${rec.wrk.requests} requests (bound ${bound})`);

  // Logging: nothing per request at warn with access_log off.
  assert.equal(nginx.log().trim(), '', nginx.log());
  await nginx.close();
  assert.equal(alive(nginx.pid), false, 'the master is gone');
  assert.equal(alive(worker!), false, 'and its worker');
});
