// Waypoint circuit breaking (Envoy cluster circuit breakers from DestinationRule connectionPool)
// over real HBONE endpoints: maxRequests, maxPendingRequests with maxConnections, maxRequestsPerConnection
// (HTTP/1.1 and HTTP/2), maxRetries, and maxConnections on TCP relays; 503 + x-envoy-overloaded, flag UO, metrics, config dump.

import { strict as assert } from 'node:assert';
import * as http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { clusterName } from '../../src/waypoint/index.js';
import { DEFAULT_CLUSTER, H2_CLUSTER, H2_PORT, HOST, TCP_PORT, VIP, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { concurrently, configure, dumpedCluster, metric, tally, uidOf, until } from '../helpers/waypoint-upstream.js';

describe('waypoint upstream circuit breakers', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig();
  });
  after(async () => rig.close());

  const overflows = (kind: string, cluster = DEFAULT_CLUSTER): Promise<number> => metric(rig, 'ambit_waypoint_upstream_overflow_total', { cluster, kind });
  const flagged = (flags: string): Promise<number> => metric(rig, 'istio_requests_total', { response_flags: flags });
  const onlyV1 = { workloadUids: [uidOf('reviews-v1')] };

  it('maxRequests 2: of 20 concurrent slow requests 2 pass, 18 get 503 UO with x-envoy-overloaded', async () => {
    configure(rig, { http: { circuitBreaker: { maxRequests: 2 } } });
    const [rqBefore, uoBefore] = [await overflows('requests'), await flagged('UO')];
    const pending = Array.from({ length: 20 }, () => rig.request({ path: '/cb?delay=1500' }));
    await until(() => (dumpedCluster(rig).circuitBreakers as Record<string, number>).remaining_rq === 0, 5000, 'two requests in flight');
    const during = dumpedCluster(rig).circuitBreakers as Record<string, number>;
    assert.equal(during.rq_open, 1);
    assert.equal(await metric(rig, 'ambit_waypoint_circuit_breaker_remaining', { cluster: DEFAULT_CLUSTER, resource: 'requests' }), 0);
    const results = await Promise.all(pending);
    assert.deepEqual(tally(results.map((r) => String(r.status))), { 200: 2, 503: 18 });
    for (const r of results.filter((x) => x.status === 503)) assert.equal(r.headers['x-envoy-overloaded'], 'true');
    for (const r of results.filter((x) => x.status === 200)) assert.equal(r.headers['x-envoy-overloaded'], undefined);
    assert.equal((await overflows('requests')) - rqBefore, 18);
    assert.equal((await flagged('UO')) - uoBefore, 18);
    assert.equal((dumpedCluster(rig).circuitBreakers as Record<string, number>).remaining_rq, 2);
  });

  it('maxConnections 1 + maxPendingRequests 1: one request in flight, one waiting for the connection, the rest overflow', async () => {
    const { http } = configure(rig, { subset: 'pending', http: { ...onlyV1, circuitBreaker: { maxConnections: 1, maxPendingRequests: 1 } } });
    assert.equal((await rig.request({ path: '/warm' })).status, 200); // one idle connection in the pool
    const [pendBefore, cxBefore] = [await overflows('pending', http), await overflows('connections', http)];
    const start = rig.hits.length;
    const results = await Promise.all(Array.from({ length: 5 }, () => rig.request({ path: '/pending?delay=800' })));
    assert.deepEqual(tally(results.map((r) => String(r.status))), { 200: 2, 503: 3 });
    assert.equal((await overflows('pending', http)) - pendBefore, 3);
    assert.ok((await overflows('connections', http)) - cxBefore >= 1, 'the queued request could not open a second connection');
    const hits = rig.hits.slice(start).filter((h) => h.url.startsWith('/pending'));
    assert.equal(hits.length, 2);
    assert.equal(new Set(hits.map((h) => h.conn)).size, 1, 'both over the one connection, one after the other');
  });

  it('maxRequestsPerConnection 1 (HTTP/1.1): every request on a new upstream connection; unlimited: one reused', async () => {
    const conns = async (path: string, n: number): Promise<number> => {
      const start = rig.hits.length;
      for (let i = 0; i < n; i++) assert.equal((await rig.request({ path })).status, 200);
      return new Set(rig.hits.slice(start).map((h) => h.conn)).size;
    };
    const { http } = configure(rig, { subset: 'per-conn', http: { ...onlyV1, circuitBreaker: { maxRequestsPerConnection: 1 } } });
    assert.equal(await conns('/per-conn', 4), 4);
    await until(async () => (await metric(rig, 'ambit_waypoint_upstream_connections_closed_total', { cluster: http, reason: 'max_requests' })) === 4, 5000, 'four connections closed after their request');
    configure(rig, { subset: 'reuse', http: onlyV1 });
    await conns('/reuse', 1);
    assert.equal(await conns('/reuse', 4), 1);
  });

  it('maxRequestsPerConnection 2 (HTTP/2): six requests use three sessions', async () => {
    configure(rig, { subset: 'h2-per-conn', h2: { ...onlyV1, circuitBreaker: { maxRequestsPerConnection: 2 } } });
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const session = http2.connect('http://reviews', { createConnection: () => stream as never });
    const start = rig.hits.length;
    for (let i = 0; i < 6; i++) {
      const req = session.request({ ':method': 'GET', ':path': `/h2-per-conn/${i}` });
      req.end();
      const headers = await new Promise<http2.IncomingHttpHeaders>((res) => req.once('response', res));
      req.resume();
      await new Promise((res) => req.once('end', res));
      assert.equal(headers[':status'], 200);
    }
    session.destroy();
    const hits = rig.hits.slice(start).filter((h) => h.url.startsWith('/h2-per-conn'));
    assert.equal(hits.length, 6);
    assert.equal(new Set(hits.map((h) => h.conn)).size, 3);
    assert.equal(H2_CLUSTER, clusterName(HOST, H2_PORT));
  });

  it('maxRetries 1: one retry at a time across the cluster; the others return the upstream answer with flag UO', async () => {
    const { http } = configure(rig, {
      subset: 'retries',
      http: { ...onlyV1, circuitBreaker: { maxRetries: 1 } },
      route: { retry: { attempts: 1, codes: [503], retryOn: ['retriable-status-codes'], backoffMs: 600 } },
    });
    const [before, uoBefore] = [await overflows('retries', http), await flagged('UO')];
    const start = rig.hits.length;
    const results = await Promise.all(Array.from({ length: 4 }, () => rig.request({ path: '/retry-budget?status-v1=503' })));
    assert.deepEqual(results.map((r) => r.status), [503, 503, 503, 503]);
    assert.ok(results.every((r) => r.headers['x-envoy-overloaded'] === undefined), 'the upstream’s own 503s pass through');
    assert.equal(rig.hits.slice(start).length, 5, 'four first attempts and one retry');
    assert.equal((await overflows('retries', http)) - before, 3);
    assert.equal((await flagged('UO')) - uoBefore, 3);
    // Unlimited (Istio's default): every request retries.
    configure(rig, { subset: 'retries-unlimited', http: onlyV1, route: { retry: { attempts: 1, codes: [503], retryOn: ['retriable-status-codes'], backoffMs: 50 } } });
    const start2 = rig.hits.length;
    await concurrently(4, 4, () => rig.request({ path: '/retry-budget?status-v1=503' }));
    assert.equal(rig.hits.slice(start2).length, 8);
  });

  it('maxConnections 1 on a TCP cluster: a second relay is refused while the first is open', async () => {
    const tcpCluster = clusterName(HOST, TCP_PORT);
    configure(rig, { tcp: { circuitBreaker: { maxConnections: 1 } } });
    const first = await rig.connect(`${VIP}:${TCP_PORT}`);
    first.stream.write('hello');
    await new Promise<void>((res) => first.stream.once('data', () => res()));
    await assert.rejects(rig.connect(`${VIP}:${TCP_PORT}`));
    assert.equal(await overflows('connections', tcpCluster), 1);
    first.stream.destroy();
    await until(async () => {
      try {
        const again = await rig.connect(`${VIP}:${TCP_PORT}`);
        again.stream.destroy();
        return true;
      } catch {
        return false;
      }
    }, 5000, 'a relay once the first closed');
  });
});
