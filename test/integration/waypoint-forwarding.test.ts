// Waypoint data path, forwarding behaviour: retries, route timeout, fault flags, mirrors, HTTP/2 upstream with
// gRPC trailers, WebSocket upgrade, TCP relay, malformed and oversized requests, graceful drain.

import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Route, RouteAction } from '../../src/waypoint/index.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { DEFAULT_CLUSTER, H2_CLUSTER, MIRROR_CLUSTER, NS, TCP_PORT, VIP, H2_PORT, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { readUntil } from '../helpers/http1-wire.js';

function route(name: string, action: RouteAction, extra: Partial<Route> = {}): Route {
  return { name, source: { kind: 'HTTPRoute', namespace: NS, name: 'r', rule: 0, match: 0 }, match: {}, action, ...extra };
}
const fwd = (cluster: string): RouteAction => ({ kind: 'forward', backends: [{ cluster, weight: 1 }] });

describe('waypoint forwarding', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig();
  });
  after(async () => rig.close());

  it('retries retriable codes: attempts 2 ⇒ 3 backend calls', async () => {
    rig.config({ http: [route('retry', fwd(DEFAULT_CLUSTER), { retry: { attempts: 2, codes: [503], retryOn: ['retriable-status-codes'], backoffMs: 5 } })] });
    rig.script.set('/flaky', [503, 503, 503]);
    const before = rig.hits.length;
    const r = await rig.request({ path: '/flaky' });
    assert.equal(r.status, 503);
    assert.equal(rig.hits.slice(before).filter((h) => h.url === '/flaky').length, 3);
    rig.script.set('/flaky', [503]);
    assert.equal((await rig.request({ path: '/flaky' })).status, 200);
    // Envoy's router: a retriable answer passed on because no retry is left is flagged URX; a
    // retried request that then succeeds, or a status not retried, carries no flag.
    rig.script.set('/other', [500]);
    assert.equal((await rig.request({ path: '/other' })).status, 500);
    const text = await rig.registry.metrics();
    assert.equal(metricSum(text, 'istio_requests_total', { response_code: '503', response_flags: 'URX' }), 1);
    assert.equal(metricSum(text, 'istio_requests_total', { response_code: '200', response_flags: '-' }), 1);
    assert.equal(metricSum(text, 'istio_requests_total', { response_code: '500', response_flags: '-' }), 1);
  });

  it('a per-try timeout on the last allowed try is UT,URX (504)', async () => {
    rig.config({ http: [route('pertry', fwd(DEFAULT_CLUSTER), { retry: { attempts: 1, codes: [504], retryOn: ['retriable-status-codes'], backoffMs: 5, perTryTimeoutMs: 150 } })] });
    const before = rig.hits.length;
    const r = await rig.request({ path: '/pertry-slow?delay=2000' });
    assert.equal(r.status, 504);
    assert.equal(rig.hits.slice(before).filter((h) => h.url.startsWith('/pertry-slow')).length, 2);
    assert.equal(metricSum(await rig.registry.metrics(), 'istio_requests_total', { response_code: '504', response_flags: 'UT,URX' }), 1);
  });

  it('answers 504 when the route timeout expires while the backend is slow', async () => {
    rig.config({ http: [route('slow', fwd(DEFAULT_CLUSTER), { timeouts: { requestMs: 200 } })] });
    const t0 = Date.now();
    const r = await rig.request({ path: '/slow?delay=2000' });
    assert.equal(r.status, 504);
    assert.ok(Date.now() - t0 < 1500);
  });

  it('a fault delay is flagged DI on the forwarded answer, DI,FI with an abort (Envoy fault filter)', async () => {
    rig.config({
      http: [
        route('delayed', fwd(DEFAULT_CLUSTER), { match: { path: { type: 'PathPrefix', value: '/delayed' } }, fault: { delay: { ms: 150, percent: 100 } } }),
        route('both', fwd(DEFAULT_CLUSTER), { match: { path: { type: 'PathPrefix', value: '/both' } }, fault: { delay: { ms: 50, percent: 100 }, abort: { httpStatus: 503, percent: 100 } } }),
      ],
    });
    const t0 = Date.now();
    const r = await rig.request({ path: '/delayed' });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 >= 140, 'the delay was served');
    assert.equal((await rig.request({ path: '/both' })).status, 503);
    const text = await rig.registry.metrics();
    assert.equal(metricSum(text, 'istio_requests_total', { response_code: '200', response_flags: 'DI' }), 1);
    assert.equal(metricSum(text, 'istio_requests_total', { response_code: '503', response_flags: 'DI,FI' }), 1);
  });

  it('a client gone during a fault delay is still counted: DI,DC, and the backend never sees the request', async () => {
    rig.config({ http: [route('long-delay', fwd(DEFAULT_CLUSTER), { fault: { delay: { ms: 600, percent: 100 } } })] });
    const before = rig.hits.length;
    const req = http.request({ agent: rig.agent(), host: 'reviews', path: '/left-during-delay' });
    req.on('error', () => undefined);
    req.end();
    await new Promise((r) => setTimeout(r, 150));
    req.destroy();
    const deadline = Date.now() + 3000;
    let n = 0;
    while (Date.now() < deadline && n === 0) {
      n = metricSum(await rig.registry.metrics(), 'istio_requests_total', { response_flags: 'DI,DC' });
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(n, 1);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(rig.hits.slice(before).filter((h) => h.url === '/left-during-delay').length, 0);
  });

  it('mirrors to the mirror backend while the client gets the primary answer', async () => {
    rig.config({ http: [route('mirror', fwd(DEFAULT_CLUSTER), { mirrors: [{ cluster: MIRROR_CLUSTER, percent: 100 }] })] });
    const r = await rig.request({ path: '/mirrored', method: 'POST', body: 'payload', headers: { 'content-length': '7' } });
    assert.equal(r.status, 200);
    assert.notEqual(r.headers['x-backend'], 'mirror');
    const deadline = Date.now() + 3000;
    while (!rig.hits.some((h) => h.who === 'mirror' && h.url === '/mirrored') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    const m = rig.hits.find((h) => h.who === 'mirror' && h.url === '/mirrored');
    assert.ok(m, 'mirror backend got the request');
    assert.equal(m.body, 'payload');
    // Istio's mirror policies set disable_shadow_host_suffix_append: the Host arrives unchanged.
    const host = (hs: readonly string[]) => hs[hs.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'host') + 1];
    const primary = rig.hits.find((h) => h.who !== 'mirror' && h.url === '/mirrored');
    assert.ok(primary);
    assert.equal(host(m.rawHeaders), host(primary.rawHeaders));
    assert.doesNotMatch(host(m.rawHeaders) ?? '', /-shadow/);
  });

  it('passes HTTP/2 (prior knowledge) through to an HTTP/2 upstream with gRPC trailers', async () => {
    rig.config({});
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const session = http2.connect('http://reviews', { createConnection: () => stream as never });
    const req = session.request({ ':method': 'POST', ':path': '/grpc/Svc/Call', 'content-type': 'application/grpc', te: 'trailers' });
    req.end(Buffer.from([0, 0, 0, 0, 0]));
    const headers = await new Promise<http2.IncomingHttpHeaders>((res) => req.once('response', res));
    const trailers = new Promise<http2.IncomingHttpHeaders>((res) => req.once('trailers', res));
    req.resume();
    assert.equal(headers[':status'], 200);
    assert.equal(headers['content-type'], 'application/grpc');
    assert.equal((await trailers)['grpc-status'], '0');
    session.destroy();
    assert.ok(H2_CLUSTER.includes(String(H2_PORT)));
  });

  it('passes a gRPC Trailers-Only answer (status in the one HEADERS frame) through and ends the stream', async () => {
    rig.config({});
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const session = http2.connect('http://reviews', { createConnection: () => stream as never });
    const req = session.request({ ':method': 'POST', ':path': '/grpc-fail/Svc/Call', 'content-type': 'application/grpc', te: 'trailers' });
    req.end(Buffer.from([0, 0, 0, 0, 0]));
    const got: { headers?: http2.IncomingHttpHeaders; trailers?: http2.IncomingHttpHeaders; endInHeaders?: boolean } = {};
    req.on('response', (h, flags: number) => {
      got.headers = h;
      got.endInHeaders = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    req.on('trailers', (t) => (got.trailers = t));
    req.resume();
    const ended = await Promise.race([once(req, 'end').then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
    session.destroy();
    assert.equal(ended, true, `the stream ended: ${JSON.stringify(got)}`);
    assert.equal(got.headers?.[':status'], 200);
    // Still Trailers-Only downstream: gRPC clients read a status in headers only with END_STREAM.
    assert.equal(got.endInHeaders, true, JSON.stringify(got));
    assert.equal(got.headers?.['grpc-status'], '5');
    assert.equal(got.headers?.['grpc-message'], 'not found');
  });

  it("answers an unmatched gRPC call itself as Trailers-Only: grpc-status 12 in one HEADERS frame with END_STREAM", async () => {
    rig.config({ h2: [route('only-call', fwd(H2_CLUSTER), { match: { path: { type: 'Exact', value: '/grpc/Svc/Call' } } })] });
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const session = http2.connect('http://reviews', { createConnection: () => stream as never });
    const req = session.request({ ':method': 'POST', ':path': '/grpc/Other/Call', 'content-type': 'application/grpc', te: 'trailers' });
    req.end(Buffer.from([0, 0, 0, 0, 0]));
    const [headers, flags] = (await once(req, 'response')) as [http2.IncomingHttpHeaders, number];
    req.resume();
    session.destroy();
    assert.equal(headers[':status'], 200);
    assert.equal(headers['grpc-status'], '12');
    assert.equal(flags & http2.constants.NGHTTP2_FLAG_END_STREAM, http2.constants.NGHTTP2_FLAG_END_STREAM, 'END_STREAM on the head: gRPC clients ignore a status in headers otherwise');
  });

  it('passes a WebSocket upgrade through and echoes', async () => {
    rig.config({});
    const { stream } = await rig.connect();
    stream.write('GET /ws HTTP/1.1\r\nHost: reviews\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    const head = await readUntil(stream, (t) => t.includes('\r\n\r\n'));
    assert.match(head, /^HTTP\/1.1 101/);
    stream.write('ping-frame');
    const echoed = await readUntil(stream, (t) => t.includes('ping-frame'));
    assert.ok(echoed.includes('ping-frame'));
    stream.destroy();
  });

  it('relays a TCP port to an endpoint, recorded as istio_tcp_* with reporter="waypoint"', async () => {
    const { stream } = await rig.connect(`${VIP}:${TCP_PORT}`);
    stream.write('hello');
    const got = await readUntil(stream, (t) => t.endsWith('hello'));
    assert.match(got, /^v[12]:hello$/);
    const backend = got.slice(0, 2) === 'v1' ? 'reviews-v1' : 'reviews-v2';
    stream.end();
    const labels = { reporter: 'waypoint', destination_workload: backend, source_workload: 'sleep' };
    const deadline = Date.now() + 3000;
    while (metricSum(await rig.registry.metrics(), 'istio_tcp_connections_closed_total', labels) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const text = await rig.registry.metrics();
    assert.equal(metricSum(text, 'istio_tcp_connections_opened_total', labels), 1);
    assert.equal(metricSum(text, 'istio_tcp_connections_closed_total', { ...labels, response_flags: '-' }), 1);
    assert.equal(metricSum(text, 'istio_tcp_received_bytes_total', labels), 'hello'.length, 'client → upstream');
    assert.equal(metricSum(text, 'istio_tcp_sent_bytes_total', labels), got.length, 'upstream → client');
  });

  it('answers 400 to malformed HTTP on that stream only, and 431 to oversized headers', async () => {
    const bad = (await rig.connect()).stream;
    bad.write('THIS IS NOT HTTP\r\n\r\n');
    assert.match(await readUntil(bad, (t) => t.includes('\r\n\r\n')), /^HTTP\/1.1 400/);
    const big = (await rig.connect()).stream;
    big.write(`GET / HTTP/1.1\r\nHost: reviews\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    assert.match(await readUntil(big, (t) => t.includes('\r\n\r\n')), /^HTTP\/1.1 431/);
    assert.equal((await rig.request({ path: '/after' })).status, 200);
  });

  it('close() lets an in-flight slow request finish', async () => {
    rig.config({});
    const pending = rig.request({ path: '/drain?delay=300' });
    // In flight = the backend has it (a fixed sleep raced the tunnel's set-up on a loaded machine).
    for (let i = 0; i < 500 && !rig.hits.some((h) => h.url.startsWith('/drain')); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(rig.hits.some((h) => h.url.startsWith('/drain')), 'the backend received the request before close()');
    const closed = rig.proxy.close(5000);
    const r = await pending;
    assert.equal(r.status, 200);
    await closed;
  });
});
